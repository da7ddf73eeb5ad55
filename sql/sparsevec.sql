-- sparsevec: pgvector's sparse vectors: text and binary forms, typmods, limits, casts,
-- distances (equal to the dense vectors'), norms, comparisons.
SET client_min_messages = notice;

-- ---------------------------------------------------------------- text form
SELECT '{1:1.5,3:3.5}/5'::sparsevec, '{3:1, 1:-2}/3'::sparsevec, ' { 2 : 1 } / 4 '::sparsevec;
-- zeros are not stored; an empty one is a zero vector
SELECT '{1:0,2:1,3:0}/3'::sparsevec, '{}/3'::sparsevec;
-- a value beyond float4 either way is an error, as in pgvector (vector and halfvec read tiny
-- values as 0, as pgvector's do; a sparsevec does not drop an element it was given)
SELECT '{1:1e-46,2:1}/2'::sparsevec;
SELECT '{1:4e38}/2'::sparsevec;
SELECT '{1:NaN}/2'::sparsevec;
SELECT '{1:Infinity}/2'::sparsevec;
SELECT '{0:1}/2'::sparsevec;
SELECT '{3:1}/2'::sparsevec;
SELECT '{1:1,1:2}/2'::sparsevec;
SELECT '{1:1}'::sparsevec;
SELECT '{1:1}/0'::sparsevec;
SELECT '{1:1}/1000000001'::sparsevec;
SELECT '{1:1}/2x'::sparsevec;
SELECT '{1;1}/2'::sparsevec;
SELECT '[1,2]'::sparsevec;
SELECT '{a:1}/2'::sparsevec;
SELECT '{1:1}/99999999999'::sparsevec;
-- a billion dimensions; 16,000 non-zero elements at most
SELECT '{1000000000:1}/1000000000'::sparsevec;
SELECT l2_norm(('{' || string_agg(i || ':1', ',') || '}/20000')::sparsevec) ^ 2 AS nnz_16000 FROM generate_series(1, 16000) i;
SELECT ('{' || string_agg(i || ':1', ',') || '}/20000')::sparsevec FROM generate_series(1, 16001) i;

-- ---------------------------------------------------------------- typmods
SELECT '{1:1}/3'::sparsevec(3);
SELECT '{1:1}/3'::sparsevec(2);
SELECT '{1:1}/3'::sparsevec(0);
CREATE TABLE sv_t (id int, v sparsevec(5));
INSERT INTO sv_t VALUES (1, '{1:1,3:2}/5'), (2, '{2:1}/5'), (3, '{1:1,3:2}/5'), (4, '{}/5'), (5, NULL);
INSERT INTO sv_t VALUES (6, '{1:1}/4');

-- ---------------------------------------------------------------- binary form (COPY BINARY)
CREATE TABLE sv_copy (v sparsevec);
COPY (SELECT v FROM sv_t WHERE v IS NOT NULL ORDER BY id) TO '/tmp/vecsearch_sparsevec.bin' WITH (FORMAT binary);
COPY sv_copy FROM '/tmp/vecsearch_sparsevec.bin' WITH (FORMAT binary);
SELECT v FROM sv_copy;
-- int32 dim, int32 nnz, int32 0, 0-based indices, then float4 values, big-endian
SELECT sparsevec_send('{2:1.5}/3');
DROP TABLE sv_copy;

-- ---------------------------------------------------------------- casts
SELECT '[1,0,2]'::vector::sparsevec, '{2:1}/3'::sparsevec::vector;
SELECT '[1,0,2.5]'::halfvec::sparsevec, '{2:1.5}/3'::sparsevec::halfvec;
SELECT ARRAY[1,0,2]::sparsevec, ARRAY[0.5,0,2]::float8[]::sparsevec, ARRAY[1.5,0]::numeric[]::sparsevec;
SELECT '{1:1}/20000'::sparsevec::vector;
SELECT '{1:70000}/2'::sparsevec::halfvec;

-- ---------------------------------------------------------------- distances: the dense vectors'
SELECT '{1:3}/2'::sparsevec <-> '{2:4}/2', '{1:1,2:2}/2'::sparsevec <#> '{1:3,2:4}/2',
       '{1:1}/2'::sparsevec <=> '{2:1}/2', '{1:1}/2'::sparsevec <+> '{2:1}/2';
SELECT inner_product('{1:1,2:2}/2'::sparsevec, '{1:3,2:4}/2'), l2_distance('{}/2'::sparsevec, '{1:3,2:4}/2');
SELECT '{}/2'::sparsevec <=> '{1:1}/2' AS zero_has_no_direction;
SELECT '{1:1}/2'::sparsevec <-> '{1:1}/3';
CREATE TABLE sv_rows AS
SELECT i, ARRAY(SELECT CASE WHEN (i * j) % 3 = 0 THEN round((sin(i * j) * 5)::numeric, 2) ELSE 0 END
                FROM generate_series(1, 40) j)::vector AS v
FROM generate_series(1, 40) i;
SELECT bool_and(abs((a.v::sparsevec <-> b.v::sparsevec) - (a.v <-> b.v)) < 1e-4 * (1 + (a.v <-> b.v))
            AND abs((a.v::sparsevec <#> b.v::sparsevec) - (a.v <#> b.v)) < 1e-4 * (1 + abs(a.v <#> b.v))
            AND abs((a.v::sparsevec <+> b.v::sparsevec) - (a.v <+> b.v)) < 1e-4 * (1 + (a.v <+> b.v))
            AND ((a.v::sparsevec <=> b.v::sparsevec) IS NOT DISTINCT FROM (a.v <=> b.v)
                 OR abs((a.v::sparsevec <=> b.v::sparsevec) - (a.v <=> b.v)) < 1e-5)) AS same_as_dense
FROM sv_rows a, sv_rows b;

-- ---------------------------------------------------------------- norms
SELECT l2_norm('{1:3,2:4}/2'::sparsevec), l2_norm('{}/2'::sparsevec);
SELECT l2_normalize('{1:3,2:4}/2'::sparsevec), l2_normalize('{}/2'::sparsevec);
-- an element that normalises to zero is dropped
SELECT l2_normalize('{1:1e-30,2:1e30}/2'::sparsevec);

-- ---------------------------------------------------------------- comparisons: as the dense vectors
SELECT bool_and((a.v::sparsevec < b.v::sparsevec) = (a.v < b.v)
            AND (a.v::sparsevec = b.v::sparsevec) = (a.v = b.v)) AS same_order_as_dense
FROM sv_rows a, sv_rows b;
SELECT '{1:1}/2'::sparsevec < '{1:1}/3', '{}/2'::sparsevec < '{1:-1}/2';
SELECT v, count(*) FROM sv_t GROUP BY v ORDER BY v;
CREATE INDEX ON sv_t (v);
SET enable_seqscan = off;
SELECT id FROM sv_t WHERE v = '{1:1,3:2}/5' ORDER BY id;
RESET enable_seqscan;

-- ---------------------------------------------------------------- exact search
SELECT id FROM sv_t WHERE v IS NOT NULL ORDER BY v <-> '{1:1,3:1}/5', id LIMIT 3;

DROP TABLE sv_t, sv_rows;
