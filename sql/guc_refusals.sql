-- The bounds the settings' check hooks and ranges refuse at, each side of the bound: a Sentinel
-- master name of at most 128 characters, a Redis user name of at most 1024 bytes and no DEL
-- (0x7f), a maintenance lock timeout of at least 1 ms (0 would be no timeout at all).
SELECT set_config('ai_scale.redis_sentinel_master', repeat('m', 128), true) = repeat('m', 128) AS master_128;
SELECT set_config('ai_scale.redis_sentinel_master', repeat('m', 129), true);
SELECT set_config('ai_scale.redis_user', repeat('u', 1024), true) = repeat('u', 1024) AS user_1024;
SELECT set_config('ai_scale.redis_user', repeat('u', 1025), true);
SELECT set_config('ai_scale.redis_user', E'cache\x7fuser', true);
SET ai_scale.maintenance_lock_timeout = 1;
SET ai_scale.maintenance_lock_timeout = 0;
RESET ai_scale.maintenance_lock_timeout;
