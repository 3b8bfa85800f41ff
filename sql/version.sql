-- version() matches the catalog; build_info() says what the library was built with.
SELECT ai_scale.version() = extversion AS version_matches_catalog
FROM pg_extension WHERE extname = 'ai_scale';

SELECT jsonb_object_keys(ai_scale.build_info()) AS build_info_key ORDER BY 1;

SELECT (ai_scale.build_info() ->> 'preloaded')::boolean AS preloaded,
       ai_scale.build_info() ->> 'built_for_postgres' LIKE '15.%' AS built_for_pg15,
       ai_scale.build_info() ->> 'cxx_standard' >= '201703' AS cxx17_or_later,
       ai_scale.build_info() ->> 'hiredis' ~ '^\d+\.\d+\.\d+$' AS hiredis_version_shown,
       ai_scale.build_info() ->> 'xxhash' ~ '^\d+\.\d+\.\d+$' AS xxhash_version_shown,
       jsonb_typeof(ai_scale.build_info() -> 'gpu_module_installed') AS gpu_flag_type;
