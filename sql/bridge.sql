-- The C++/Postgres error bridge: C++ exceptions become clean ERRORs with SQLSTATEs, Postgres
-- errors raised under C++ frames unwind them (destructors run), and the backend lives on.
SELECT ai_scale._bridge_selftest('ok');

-- A plain C++ exception: internal error, XX000.
SELECT ai_scale._bridge_selftest('runtime_error');
SELECT 'backend survived' AS after_runtime_error;

-- std::bad_alloc: out of memory, 53200.
SELECT ai_scale._bridge_selftest('bad_alloc');

-- An ai_scale error keeps its SQLSTATE, detail and hint.
SELECT ai_scale._bridge_selftest('user_error');

-- The SQLSTATEs can be caught by name.
DO $$
DECLARE
    kind text;
BEGIN
    FOREACH kind IN ARRAY ARRAY['runtime_error', 'bad_alloc', 'user_error', 'postgres_error']
    LOOP
        BEGIN
            PERFORM ai_scale._bridge_selftest(kind);
        EXCEPTION
            WHEN internal_error OR out_of_memory OR invalid_parameter_value
                 OR invalid_text_representation THEN
                RAISE NOTICE '% -> SQLSTATE %', kind, SQLSTATE;
        END;
    END LOOP;
END
$$;

-- A Postgres error (int4in on bad text) raised inside C++ code: the original message and
-- SQLSTATE 22P02 reach the client, and the C++ object alive at that point was destroyed.
SELECT ai_scale._bridge_selftest('destructors') AS before \gset
SELECT ai_scale._bridge_selftest('postgres_error');
SELECT ai_scale._bridge_selftest('destructors')::int - :before AS destructors_run_by_one_error;

-- A C++ exception thrown by the callable given to pg::call (the cache fills at commit can throw
-- std::bad_alloc from inside theirs) is an internal error like any other. It crashed the server
-- (SIGSEGV, every session restarted) while pg::call left PG_exception_stack pointing into
-- itself; the session goes on, and its next Postgres error is caught as usual.
SELECT ai_scale._bridge_selftest('exception_in_call');
DO $$
BEGIN
    PERFORM 1 / 0;
EXCEPTION
    WHEN division_by_zero THEN
        RAISE NOTICE 'caught: %', SQLERRM;
END
$$;
SELECT 'backend survived' AS after_exception_in_call;

-- Inside a transaction the error aborts it as any Postgres error would.
BEGIN;
SELECT ai_scale._bridge_selftest('runtime_error');
SELECT 1;
ROLLBACK;
SELECT 'next statement works' AS after_rollback;

-- Unknown kinds are rejected; NULL gives NULL (strict).
SELECT ai_scale._bridge_selftest('no such kind');
SELECT ai_scale._bridge_selftest(NULL) IS NULL AS strict;

-- Ordinary users cannot call the self-test.
CREATE ROLE ai_scale_bridge_user;
SET ROLE ai_scale_bridge_user;
SELECT ai_scale._bridge_selftest('ok');
RESET ROLE;
DROP ROLE ai_scale_bridge_user;
