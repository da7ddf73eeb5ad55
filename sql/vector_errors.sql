-- Bad input: every case is an ERROR with a proper SQLSTATE and a message a user understands.

-- messages as a user sees them
SELECT '[1,2'::vector;
SELECT '1,2,3'::vector;
SELECT '[1,,2]'::vector;
SELECT '[1 2]'::vector;
SELECT '[1,2]x'::vector;
SELECT '[]'::vector;
SELECT '[ ]'::vector;
SELECT ''::vector;
SELECT '[NaN]'::vector;
SELECT '[1,Infinity]'::vector;
SELECT '[-inf]'::vector;
SELECT '[1e39]'::vector;
SELECT '[abc]'::vector;
SELECT ('[' || repeat('1,', 16000) || '1]')::vector;

-- SQLSTATE and message for each kind of bad input, in one table
CREATE FUNCTION pg_temp.outcome(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE q;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

SELECT q, pg_temp.outcome(q) FROM (VALUES
	('SELECT ''[1,2''::vector'),
	('SELECT ''[1,2,3]x''::vector'),
	('SELECT ''[]''::vector'),
	('SELECT ''[NaN]''::vector'),
	('SELECT ''[Infinity]''::vector'),
	('SELECT ''[3.5e38]''::vector'),
	('SELECT repeat(''x'', 0)::vector'),
	('SELECT ''[1,2]''::vector(3)'),
	('SELECT ''[1,2]''::vector <-> ''[1]''::vector'),
	('SELECT ''[1]''::vector(0)'),
	('SELECT ''[1]''::vector(16001)'),
	('SELECT ARRAY[1,NULL]::vector'),
	('SELECT ''{}''::int[]::vector'),
	('SELECT ARRAY[[1]]::vector'),
	('SELECT subvector(''[1,2]''::vector, 3, 1)'),
	('SELECT ''[3e38]''::vector + ''[3e38]''::vector'),
	('SELECT ''[1e-30]''::vector * ''[1e-30]''::vector')
) t(q);

-- binary input with bad contents: wrap hand-made wire bytes in a one-row binary COPY file
-- (signature, flags, header extension, one field, trailer) and load it
CREATE TEMP TABLE recv_t (v vector);
CREATE FUNCTION pg_temp.recv_outcome(payload bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	file bytea := '\x5047434f50590aff0d0a00'::bytea || '\x0000000000000000'::bytea
		|| '\x0001'::bytea || int4send(length(payload)) || payload || '\xffff'::bytea;
	lo oid := lo_from_bytea(0, file);
BEGIN
	PERFORM lo_export(lo, '/tmp/vecsearch_recv_test.bin');
	PERFORM lo_unlink(lo);
	TRUNCATE recv_t;
	COPY recv_t FROM '/tmp/vecsearch_recv_test.bin' WITH (FORMAT binary);
	RETURN 'ok: ' || (SELECT v::text FROM recv_t);
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

SELECT label, pg_temp.recv_outcome(payload) FROM (VALUES
	('valid [1,2]',        '\x000200003f80000040000000'::bytea),
	('zero dimensions',    '\x00000000'::bytea),
	('negative dimension', '\xffff0000'::bytea),
	('16001 dimensions',   '\x3e810000'::bytea),
	('reserved not 0',     '\x000100013f800000'::bytea),
	('too few bytes',      '\x000200003f800000'::bytea),
	('too many bytes',     '\x000100003f80000040000000'::bytea),
	('NaN element',        '\x000100007fc00000'::bytea),
	('Infinity element',   '\x000100007f800000'::bytea)
) t(label, payload);
