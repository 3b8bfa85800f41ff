-- create_prediction_store: the seed table, partitioned by day, with a default partition and
-- the indexes a cache lookup needs; run_maintenance; partitions(); the config table.
SET client_min_messages = warning;
SELECT ai_scale.create_prediction_store();
-- Run again (the quick start repeated): 42P07, whose hint says the table is managed already.
\set SHOW_CONTEXT never
SELECT ai_scale.create_prediction_store();
\set SHOW_CONTEXT errors

-- Columns, key, indexes.
SELECT attname, format_type(atttypid, atttypmod) AS type, attnotnull
  FROM pg_attribute WHERE attrelid = 'public.model_predictions'::regclass AND attnum > 0
 ORDER BY attnum;
SELECT pg_get_partkeydef('public.model_predictions'::regclass);
SELECT indexrelid::regclass, pg_get_indexdef(indexrelid) LIKE '%(prediction_id, created_at)' AS pk,
       pg_get_indexdef(indexrelid) LIKE '%(model_name, model_version, input_hash, created_at)' AS lookup
  FROM pg_index WHERE indrelid = 'public.model_predictions'::regclass ORDER BY indexrelid::regclass::text;

-- Today (UTC) and 7 days ahead, each one local day long, plus the default.
SELECT count(*) FILTER (WHERE tier = 'hot') AS hot, count(*) FILTER (WHERE tier = 'default') AS dflt,
       min(lower::timestamptz) FILTER (WHERE tier = 'hot') = date_trunc('day', now(), 'UTC') AS starts_today,
       bool_and(upper::timestamptz - lower::timestamptz = '1 day') FILTER (WHERE tier = 'hot') AS daily,
       bool_and(bytes > 0) AS sized
  FROM ai_scale.partitions('public.model_predictions');
-- Partitions are listed by bound, the default last, and named after their lower bound.
SELECT bool_and(partition::text = 'model_predictions_' || to_char(lower::timestamptz AT TIME ZONE 'UTC', 'YYYYMMDD'))
  FROM ai_scale.partitions('public.model_predictions') WHERE tier = 'hot';
SELECT tier FROM ai_scale.partitions('public.model_predictions') OFFSET 8;

-- Everything exists: a run does nothing and says so by returning no rows.
SELECT * FROM ai_scale.run_maintenance('public.model_predictions');
SELECT * FROM ai_scale.run_maintenance();

-- Rows land in their day's partition; primary key and lookup index work through the parent.
INSERT INTO public.model_predictions (model_name, model_version, input_data, output_data, input_hash)
VALUES ('churn', 3, '{"x": 1}', '{"p": 0.2}', 42);
SELECT tableoid::regclass::text = 'model_predictions_' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD') AS todays
  FROM public.model_predictions;
SELECT * FROM ai_scale.check_default('public.model_predictions');

-- Premake grows: a run creates exactly the missing days, one row per partition.
SELECT ai_scale.reset_stats();
SELECT action, count(*) FROM ai_scale.manage_partitions('public.model_predictions', '1 day', premake => 9) GROUP BY 1;
SELECT count(*) FROM ai_scale.run_maintenance('public.model_predictions');
SELECT count(*) FROM ai_scale.partitions('public.model_predictions') WHERE tier = 'hot';

-- The config row, and its registration for pg_dump.
SELECT parent, partition_interval, premake, retention, retention_mode, time_zone
  FROM ai_scale.partition_config;
SELECT 'ai_scale.partition_config'::regclass = ANY (extconfig) AS dumped
  FROM pg_extension WHERE extname = 'ai_scale';

-- Maintenance counters in the stats view: since the reset, the run above and the partitions
-- it made (no worker maintains this database).
SELECT metric, value FROM ai_scale.stats WHERE section = 'maintenance' ORDER BY metric;

-- A second store with hourly partitions in another schema, named with capitals and a space.
CREATE SCHEMA "Store Schema";
SELECT ai_scale.create_prediction_store('"Store Schema"."Hourly Preds"', '1 hour', 3);
SELECT partition, tier FROM ai_scale.partitions('"Store Schema"."Hourly Preds"')
 WHERE tier = 'default';
SELECT count(*), bool_and(upper::timestamptz - lower::timestamptz = '1 hour')
  FROM ai_scale.partitions('"Store Schema"."Hourly Preds"') WHERE tier = 'hot';

-- unmanage: the table and its partitions stay; maintenance no longer touches it.
SELECT ai_scale.unmanage_partitions('"Store Schema"."Hourly Preds"');
SELECT count(*) FROM ai_scale.partition_config WHERE parent = '"Store Schema"."Hourly Preds"'::regclass;
SELECT count(*) FROM ai_scale.partitions('"Store Schema"."Hourly Preds"');
DROP SCHEMA "Store Schema" CASCADE;
