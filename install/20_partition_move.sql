-- Partitioning: moving rows out of a default partition (the rescue, a run making a partition
-- over rows of the default): when a move cannot put them back as they were, whether it goes
-- through the parent or around it (publications, triggers, rules), the check that this has not
-- changed since it was chosen, and which rows a move's DELETE left (src/partition/rows_left.cpp).
-- The moves themselves are in 21_partition_create.sql and 22_partition_rescue.sql.

-- The enabled states of the triggers and rules this session fires: 'O' (ENABLE) or 'A'
-- (ALWAYS), or 'R' (REPLICA) or 'A' where session_replication_role is replica. The worker runs
-- as origin.
CREATE FUNCTION ai_scale._fired_here() RETURNS "char"[]
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT CASE current_setting('session_replication_role')
                WHEN 'replica' THEN '{R,A}'::"char"[] ELSE '{O,A}'::"char"[] END
$$;

-- Whether rel (a default partition) has a DO ALSO rule on DELETE that this session fires: its
-- action runs before a DELETE that moves rows out (_hold_default_rows, _copy_then_delete).
CREATE FUNCTION ai_scale._delete_rule_fired(rel regclass) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT EXISTS (SELECT 1 FROM pg_rewrite r
                    WHERE r.ev_class = rel AND r.ev_type = '4' AND NOT r.is_instead
                      AND r.ev_enabled = ANY (ai_scale._fired_here()))
$$;

-- Whether rel (a default partition) has a BEFORE DELETE FOR EACH ROW trigger that this session
-- fires, which may keep a row a move deletes, or change it (tgtype bits 0, 1 and 3: ROW,
-- BEFORE, DELETE): _path_through_parent, _copy_then_delete.
CREATE FUNCTION ai_scale._row_delete_trigger_fired(rel regclass) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT EXISTS (SELECT 1 FROM pg_trigger t
                    WHERE NOT t.tgisinternal AND t.tgenabled = ANY (ai_scale._fired_here())
                      AND t.tgrelid = rel AND t.tgtype & 11 = 11)
$$;

-- Of rows of rel (a heap table) named by their ctid, those the statement's snapshot still shows
-- (kept), and those gone with a later version it shows (changed: updated, also into another
-- partition), where SQL sees a deleted and an updated row alike gone
-- (src/partition/rows_left.cpp): _copy_then_delete.
CREATE FUNCTION ai_scale._rows_left(rel regclass, rows tid[], OUT kept bigint,
                                    OUT changed bigint)
    LANGUAGE c VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_rows_left';

-- Rows cannot be moved out of the default partition of parent when the move would not put them
-- back as they were. Raises 0A000, naming the cause:
-- * a foreign key references the table: deleting them fires the key's ON DELETE action
--   (CASCADE would delete the referencing rows) before they are back in the table;
-- * a DO INSTEAD rule on DELETE from the default partition: the rows would stay there, and
--   the attach failed on them with a check constraint of ours named as the cause (23514);
--   with deletes_in_with (the move deletes in a WITH query: making a partition ahead around
--   the parent), a DO ALSO one too: Postgres refuses such rules there (0A000, naming no rule).
--   A rescue, and a move through the parent (_hold_default_rows), run it. Rules the session
--   does not fire (disabled; ENABLE REPLICA but in a replica session) are not in the way;
-- * with through_parent (the move goes through the parent: _moves_through_parent, which the
--   caller has asked already), a DO INSTEAD rule on INSERT into the parent: the rows went where the rule sent them, as many as left the default, and the
--   move was reported made into partitions that stayed empty. (A DO ALSO one runs its action
--   beside the move, as a trigger does.)
CREATE FUNCTION ai_scale._require_movable_default(parent regclass, dflt regclass,
                                                  through_parent boolean,
                                                  deletes_in_with boolean) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    con record;
    rule record;
BEGIN
    SELECT c.conrelid::regclass AS referrer, c.conname INTO con
      FROM pg_constraint c
     WHERE c.oid = least(ai_scale._referencing_foreign_key(parent),
                         ai_scale._referencing_foreign_key(dflt));
    IF FOUND THEN
        RAISE EXCEPTION 'rows cannot be moved out of the default partition of %', parent
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = format('Table %s references it (foreign key %I): deleting the rows '
                                  'from the default partition would fire the key''s ON DELETE '
                                  'action before they are back.', con.referrer, con.conname),
                  HINT = 'Make the partitions before their rows arrive (premake), or move the '
                         'rows by hand with the foreign key dropped.';
    END IF;
    SELECT r.rulename, r.ev_class::regclass AS rel, r.ev_type = '4' AS on_delete,
           r.is_instead
      INTO rule
      FROM pg_rewrite r
     WHERE r.ev_enabled = ANY (ai_scale._fired_here())
       AND ((r.ev_class = dflt AND r.ev_type = '4' AND (r.is_instead OR deletes_in_with))
            OR (r.ev_class = parent AND r.ev_type = '3' AND r.is_instead AND through_parent))
     ORDER BY r.ev_type DESC, r.rulename LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'rows cannot be moved out of the default partition of %', parent
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = format('Rule %I on %s rewrites the %s %s that moves them (%s)%s.',
                                  rule.rulename, rule.rel,
                                  CASE WHEN rule.on_delete THEN 'DELETE from' ELSE 'INSERT into' END,
                                  rule.rel, CASE WHEN rule.is_instead THEN 'DO INSTEAD' ELSE 'DO ALSO' END,
                                  CASE WHEN NOT rule.on_delete
                                       THEN ': they would go where the rule sends them, not '
                                            'into the partitions made for them'
                                       WHEN rule.is_instead
                                       THEN ': they would stay where they are'
                                       ELSE ': Postgres runs no such rule for the DELETE in a '
                                            'WITH query that moves them' END),
                  HINT = CASE WHEN rule.on_delete
                              THEN 'Drop the rule while the rows are moved (a trigger may do '
                                   'its work), or make the partitions before their rows arrive '
                                   '(premake).'
                              ELSE 'Make the rule DO ALSO or drop it while the rows are moved, '
                                   'or make the partitions before their rows arrive (premake).' END;
    END IF;
END $$;

-- Whether rows moved out of the default partition of parent must go through the parent, as deletes
-- and inserts that logical replication and triggers see: when the table (or a table it is a
-- partition of, published with publish_via_partition_root) or its default partition is in a
-- publication that sends inserts and deletes, or the table has triggers or DO ALSO rules on INSERT
-- (a move around it ran no such rule), or its default partition BEFORE DELETE FOR EACH ROW
-- triggers (enabled; of their own or cloned from a table above).
-- Otherwise a move writes the rows into a new table before it becomes a partition, which is faster,
-- and which a publication of the table and the parent's INSERT triggers would see as deletes only
-- (a subscriber would lose the rows); a BEFORE DELETE trigger of the default that keeps rows is
-- told apart only on the way through the parent (09000 naming it; around it, the batch fails on a
-- check constraint of ours, or with 40001 in REPEATABLE READ, at every try). Triggers on other
-- events, and the default's other DELETE triggers, fire alike either way: any trigger sent every
-- move the slow way, and with a publication of inserts alone refused it (an AFTER DELETE audit of
-- the store, beside an append-only subscriber, kept every row in the default for good). A
-- publication of the table's inserts alone sees nothing of the move around the parent, as its
-- subscribers need: through the parent, they got every moved row a second time (a subscriber with a
-- key stopped there for good); so does one of the schema of a table above it (the parent a partition
-- of a root in another schema), which was not counted so; one of the default partition alone sees
-- no insert either way. One of all tables, or of the table's schema, sees the new table's
-- rows under its own name, which its subscribers do not have (their apply stopped for good) and,
-- through the parent, the rows twice. One of deletes without inserts loses the rows on its
-- subscribers either way. Where no move is right for every publication, none is made: 0A000, naming
-- them. As the snapshot of the statement that asks sees the publications: _moves_through_parent
-- asks it. The publications of the default are those pg_publication_tables lists it or a table
-- above it in (of all tables: the default itself, a permanent table, or with
-- publish_via_partition_root the root; of a table: the default or a table above; of a schema:
-- the default's, a permanent table, or a table above's), read without listing every table of
-- every publication, which that view does: at 3,000 partitions, with a publication of the
-- table, 12-50 ms a question (asked two or three times a partition a move makes), 1 ms now.
CREATE FUNCTION ai_scale._path_through_parent(parent regclass, dflt regclass) RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    with_deletes text;
    inserts_only text;
    deletes_only text;
    inserts_everywhere text; -- of inserts alone, FOR ALL TABLES or the parent's schema
    insert_triggers boolean;
    insert_rules boolean;     -- DO ALSO on INSERT (a DO INSTEAD one refuses the move)
    keeping_triggers boolean; -- the default's BEFORE DELETE FOR EACH ROW, which may keep a row
    fired "char"[];
BEGIN
    SELECT string_agg(DISTINCT quote_ident(b.pubname), ', ')
               FILTER (WHERE b.pubinsert AND b.pubdelete),
           string_agg(DISTINCT quote_ident(b.pubname), ', ')
               FILTER (WHERE b.pubinsert AND NOT b.pubdelete
                         AND (EXISTS (SELECT 1 FROM pg_publication_rel r
                                       WHERE r.prpubid = b.oid
                                         AND r.prrelid IN (SELECT a.relid
                                                             FROM pg_partition_ancestors(parent) a))
                              OR EXISTS (SELECT 1 FROM pg_publication_namespace pn
                                           JOIN pg_class c ON c.relnamespace = pn.pnnspid
                                          WHERE pn.pnpubid = b.oid
                                            AND c.oid IN (SELECT a.relid
                                                            FROM pg_partition_ancestors(parent) a)))),
           string_agg(DISTINCT quote_ident(b.pubname), ', ')
               FILTER (WHERE b.pubdelete AND NOT b.pubinsert)
      INTO with_deletes, inserts_only, deletes_only
      FROM pg_publication b
     WHERE (b.puballtables
            AND (b.pubviaroot OR (SELECT c.relkind = 'r' AND c.relpersistence = 'p'
                                    FROM pg_class c WHERE c.oid = dflt)))
        OR EXISTS (SELECT 1 FROM pg_publication_rel r
                    WHERE r.prpubid = b.oid
                      AND r.prrelid IN (SELECT a.relid FROM pg_partition_ancestors(dflt) a))
        OR EXISTS (SELECT 1 FROM pg_publication_namespace pn
                     JOIN pg_class c ON c.relnamespace = pn.pnnspid
                    WHERE pn.pnpubid = b.oid
                      AND c.oid IN (SELECT a.relid FROM pg_partition_ancestors(dflt) a)
                      AND (c.relkind = 'p' OR (c.relkind = 'r' AND c.relpersistence = 'p')));
    SELECT string_agg(DISTINCT quote_ident(b.pubname), ', ') INTO inserts_everywhere
      FROM pg_publication b
     WHERE b.pubinsert AND NOT b.pubdelete
       AND (b.puballtables
            OR EXISTS (SELECT 1 FROM pg_publication_namespace pn JOIN pg_class c
                                ON c.relnamespace = pn.pnnspid
                        WHERE pn.pnpubid = b.oid AND c.oid = parent));
    -- (tgtype bit 0: ROW, bit 1: BEFORE, bit 2: INSERT, bit 3: DELETE. Those the move fires in
    -- this session (_fired_here): counted as origin in a replica session, a default's BEFORE
    -- DELETE trigger ENABLE REPLICA that kept a row failed the move on a constraint of ours,
    -- and an INSERT trigger ENABLE REPLICA never saw the moved rows.)
    fired := ai_scale._fired_here();
    insert_triggers := EXISTS (SELECT 1 FROM pg_trigger t
                                WHERE NOT t.tgisinternal AND t.tgenabled = ANY (fired)
                                  AND t.tgrelid = parent AND t.tgtype & 4 <> 0);
    insert_rules := EXISTS (SELECT 1 FROM pg_rewrite r
                             WHERE r.ev_class = parent AND r.ev_type = '3' AND NOT r.is_instead
                               AND r.ev_enabled = ANY (fired));
    keeping_triggers := ai_scale._row_delete_trigger_fired(dflt);
    IF deletes_only IS NOT NULL THEN
        RAISE EXCEPTION 'rows cannot be moved out of the default partition of %: publication % '
                        'sends its deletes alone', parent, deletes_only
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'Moved either way, its subscribers would lose the rows.',
                  HINT = 'Make the partitions before their rows arrive (premake), or move the '
                         'rows by hand.';
    ELSIF inserts_everywhere IS NOT NULL
          OR (inserts_only IS NOT NULL
              AND (with_deletes IS NOT NULL OR insert_triggers OR insert_rules
                   OR keeping_triggers)) THEN
        RAISE EXCEPTION 'rows cannot be moved out of the default partition of %: publication % '
                        'sends its inserts alone%', parent,
                        coalesce(inserts_everywhere, inserts_only),
                        CASE WHEN inserts_everywhere IS NOT NULL
                             THEN ', of all tables or of the table''s schema'
                             WHEN with_deletes IS NOT NULL
                             THEN format(', and publication %s its deletes', with_deletes)
                             WHEN insert_triggers
                             THEN ', and the table has INSERT triggers that the move must fire'
                             WHEN insert_rules
                             THEN ', and the table has DO ALSO rules on INSERT that the move '
                                  'must run'
                             ELSE ', and its default partition has BEFORE DELETE triggers, '
                                  'which may keep rows' END
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = CASE WHEN inserts_everywhere IS NOT NULL
                                THEN 'Moved through the table, its subscribers would get the '
                                     'rows twice; moved around it, they would get them under the '
                                     'name of a table they do not have.'
                                WHEN with_deletes IS NOT NULL
                                THEN 'Moved through the table, the first one''s subscribers '
                                     'would get the rows twice; moved around it, the other''s '
                                     'would lose them.'
                                WHEN insert_triggers
                                THEN 'Moved through the table, its subscribers would get the '
                                     'rows twice; moved around it, its INSERT triggers would not '
                                     'see them.'
                                WHEN insert_rules
                                THEN 'Moved through the table, its subscribers would get the '
                                     'rows twice; moved around it, its rules would not run.'
                                ELSE 'Moved through the table, its subscribers would get the '
                                     'rows twice; moved around it, a row such a trigger kept '
                                     'would fail the move without a word of the trigger.' END,
                  HINT = 'Make the partitions before their rows arrive (premake), or move the '
                         'rows by hand.';
    END IF;
    RETURN with_deletes IS NOT NULL OR insert_triggers OR insert_rules OR keeping_triggers;
END $$;

-- _path_through_parent asked with the latest snapshot: the publications as logical decoding
-- applies them to rows written now (src/partition/catalog_now.cpp).
CREATE FUNCTION ai_scale._path_through_parent_now(parent regclass, dflt regclass)
    RETURNS boolean
    LANGUAGE c VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_path_through_parent_now';

-- Raises 40001 when the path a move out of dflt would take now is not the one it took or is
-- about to take (through, with the parent or around it), or refuses the move now (0A000). The
-- path is chosen from the publications a snapshot sees, and logical decoding applies them as
-- they are when the rows are written: a publication changed in between (ALTER PUBLICATION ...
-- SET (publish = ...) locks no table) got the wrong move, and its subscribers got every moved
-- row twice (the apply stopped for good on a key) or lost them, silently. Asked after a move's
-- writes (the move rolls back with the error), and before them where the transaction's
-- snapshot may be older than the publications (REPEATABLE READ, SERIALIZABLE).
-- (In REPEATABLE READ or SERIALIZABLE, also when the rules, triggers, foreign keys or columns
-- of parent and dflt a move reads, as the snapshot shows them, are not those Postgres applies
-- to its statements once their locks are taken: _move_catalog.)
CREATE FUNCTION ai_scale._require_path_unchanged(parent regclass, dflt regclass,
                                                 through boolean) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
BEGIN
    IF ai_scale._path_through_parent_now(parent, dflt) IS DISTINCT FROM through THEN
        -- (Triggers and rules choose the path too: a trigger made after a REPEATABLE READ
        -- snapshot was reported as a change of publications where there were none.)
        RAISE EXCEPTION 'the publications, triggers or rules of % changed while rows were '
                        'moved out of its default partition', parent
            USING ERRCODE = 'serialization_failure',
                  DETAIL = 'Moved as they were chosen for, subscribers could get the rows twice '
                           'or not at all, or triggers and rules not see them.',
                  HINT = 'Run it again.';
    END IF;
    -- A DO ALSO rule on DELETE made after the snapshot ran unchecked, and the rows it wrote
    -- into the range were deleted uncopied; a DO INSTEAD rule on INSERT sent the rows moved
    -- out of the table; a column added was left out of the copy (the rows moved took its
    -- default, not their value).
    IF current_setting('transaction_isolation') <> 'read committed'
       AND ai_scale._move_catalog_now(parent, dflt) IS DISTINCT FROM
           ai_scale._move_catalog(parent, dflt) THEN
        RAISE EXCEPTION 'the rules, triggers, foreign keys or columns of % changed after this '
                        'transaction''s snapshot was taken', parent
            USING ERRCODE = 'serialization_failure',
                  DETAIL = 'Moving rows out of its default partition reads them as the snapshot '
                           'shows them, and Postgres applies them as they are now: rows could '
                           'be lost, written twice or written elsewhere.',
                  HINT = 'Run it again, or in a READ COMMITTED transaction.';
    END IF;
END $$;

-- How rows moved out of dflt go (_path_through_parent), as the caller's snapshot sees the
-- publications, which in REPEATABLE READ or SERIALIZABLE must be as they are now: asked here to
-- fail before any write (a snapshot from before a change sees the old path for the whole
-- transaction); the check after the writes (_require_path_unchanged), which every move makes,
-- would fail it too, after the copy.
CREATE FUNCTION ai_scale._moves_through_parent(parent regclass, dflt regclass) RETURNS boolean
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    through boolean := ai_scale._path_through_parent(parent, dflt);
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        PERFORM ai_scale._require_path_unchanged(parent, dflt, through);
    END IF;
    RETURN through;
END $$;

-- A stored expression tree's text without the places of its nodes in the command that made it
-- (":location 42"): the same rule made again by CREATE OR REPLACE RULE, or with other spacing,
-- read as another, and a REPEATABLE READ move over it failed with a needless 40001.
CREATE FUNCTION ai_scale._unplaced(tree text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT regexp_replace(tree, ' :location -?[0-9]+', '', 'g') $$;

-- What of parent and its default partition dflt a move out of dflt reads from the catalog and
-- Postgres applies to its statements: their rules and triggers, as what they do (event, action
-- or function and its arguments, condition, columns, enabled or not: a CREATE OR REPLACE keeps
-- the OID; not their names, whose change by ALTER ... RENAME gave a needless 40001; not the
-- internal triggers of a foreign key of theirs, which a move does not fire), the foreign keys
-- that reference them, and the columns an INSERT names, with their types. Compared, in
-- REPEATABLE READ or SERIALIZABLE, with the same read with the latest snapshot
-- (_move_catalog_now).
CREATE FUNCTION ai_scale._move_catalog(parent regclass, dflt regclass) RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT concat_ws(' | ',
        coalesce((SELECT string_agg(format('%s %s %s %s %s %s', r.oid, r.ev_type, r.ev_enabled,
                                           r.is_instead, ai_scale._unplaced(r.ev_qual::text),
                                           ai_scale._unplaced(r.ev_action::text)),
                                    ', ' ORDER BY r.oid)
                    FROM pg_rewrite r WHERE r.ev_class IN (parent, dflt)), ''),
        coalesce((SELECT string_agg(format('%s %s %s %s %s %s %s %s %s %s', t.oid, t.tgfoid,
                                           t.tgtype, t.tgenabled, t.tgargs, t.tgattr,
                                           ai_scale._unplaced(t.tgqual::text), t.tgoldtable,
                                           t.tgnewtable,
                                           t.tgdeferrable::text || t.tginitdeferred::text),
                                    ', ' ORDER BY t.oid)
                    FROM pg_trigger t
                   WHERE t.tgrelid IN (parent, dflt) AND NOT t.tgisinternal), ''),
        coalesce((SELECT string_agg(c.oid::text, ', ' ORDER BY c.oid)
                    FROM pg_constraint c
                   WHERE c.contype = 'f' AND c.confrelid IN (parent, dflt)), ''),
        coalesce((SELECT string_agg(format('%s %s %s %s %s', a.attrelid, a.attnum, a.attname,
                                           a.atttypid, a.atttypmod), ', '
                                    ORDER BY a.attrelid, a.attnum)
                    FROM pg_attribute a
                   WHERE a.attrelid IN (parent, dflt) AND a.attnum > 0 AND NOT a.attisdropped
                     AND a.attgenerated = ''), ''))
$$;

-- _move_catalog with the latest snapshot (src/partition/catalog_now.cpp).
CREATE FUNCTION ai_scale._move_catalog_now(parent regclass, dflt regclass) RETURNS text
    LANGUAGE c VOLATILE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_move_catalog_now';
