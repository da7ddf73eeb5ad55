-- vecsearch_verify: no rows for sound ivf, ivfpq and hnsw indexes, through inserts,
-- VACUUM and slot reuse; an error for what is not a vecsearch index. (Damaged pages: TAP 008.)
CREATE TABLE vt (id int, v vector(16));
INSERT INTO vt SELECT i, ARRAY(SELECT round((sin(i * 0.37 + j * 1.3) + cos(i * 0.011 * j))::numeric, 4)::real
	FROM generate_series(1, 16) j)::vector FROM generate_series(1, 3000) i;
CREATE INDEX vt_ivf ON vt USING ivf (v) WITH (lists = 10);
CREATE INDEX vt_pq ON vt USING ivfpq (v vector_cosine_ops) WITH (lists = 10, subvectors = 4);
CREATE INDEX vt_h ON vt USING hnsw (v vector_ip_ops) WITH (m = 8, ef_construction = 32);
SELECT * FROM vecsearch_verify('vt_ivf');
SELECT * FROM vecsearch_verify('vt_pq');
SELECT * FROM vecsearch_verify('vt_h');
DELETE FROM vt WHERE id % 3 = 0;
VACUUM vt;
INSERT INTO vt SELECT i, ARRAY(SELECT round(sin(i * 0.37 + j * 1.3)::numeric, 4)::real
	FROM generate_series(1, 16) j)::vector FROM generate_series(5001, 6500) i;
SELECT count(*) AS ivf_problems FROM vecsearch_verify('vt_ivf');
SELECT count(*) AS ivfpq_problems FROM vecsearch_verify('vt_pq');
SELECT count(*) AS hnsw_problems FROM vecsearch_verify('vt_h');
-- an empty index
CREATE TABLE vt_empty (v vector(4));
CREATE INDEX vt_empty_ivf ON vt_empty USING ivf (v) WITH (lists = 3);
SELECT count(*) FROM vecsearch_verify('vt_empty_ivf');
-- 4,096 dimensions: hnsw vectors on overflow pages
CREATE TABLE vt_wide (v vector(4096));
INSERT INTO vt_wide SELECT array_fill((i % 13)::real, ARRAY[4096])::vector FROM generate_series(1, 40) i;
CREATE INDEX vt_wide_h ON vt_wide USING hnsw (v) WITH (m = 4, ef_construction = 8);
SELECT count(*) FROM vecsearch_verify('vt_wide_h');
-- not a vecsearch index
SELECT * FROM vecsearch_verify('vt');

-- privileges: vecsearch_verify holds a SHARE lock on the table until the transaction
-- ends, so (as amcheck's functions) it is not for PUBLIC, and a role it is granted to
-- needs what LOCK TABLE ... IN SHARE MODE needs
CREATE ROLE regress_vs_reader;
CREATE ROLE regress_vs_writer;
GRANT SELECT ON vt TO regress_vs_reader, regress_vs_writer;
GRANT UPDATE ON vt TO regress_vs_writer;
SELECT has_function_privilege('public', 'vecsearch_verify(regclass)', 'EXECUTE') AS public_verify,
       has_function_privilege('public', 'vecsearch_ivf_health(regclass)', 'EXECUTE') AS public_health;
SET ROLE regress_vs_reader;
SELECT count(*) FROM vecsearch_verify('vt_h');
RESET ROLE;
GRANT EXECUTE ON FUNCTION vecsearch_verify(regclass) TO regress_vs_reader, regress_vs_writer;
SET ROLE regress_vs_reader;
BEGIN;
SELECT count(*) FROM vecsearch_verify('vt_h');
ROLLBACK;
BEGIN;
LOCK TABLE vt IN SHARE MODE;
ROLLBACK;
-- what a reader may do: read the index's health (AccessShareLock, as a SELECT takes)
SELECT lists FROM vecsearch_ivf_health('vt_ivf');
RESET ROLE;
SET ROLE regress_vs_writer;
SELECT count(*) FROM vecsearch_verify('vt_h');
RESET ROLE;
REVOKE SELECT ON vt FROM regress_vs_writer;
SET ROLE regress_vs_writer;
SELECT count(*) FROM vecsearch_verify('vt_h');
SELECT lists FROM vecsearch_ivf_health('vt_ivf');
RESET ROLE;
REVOKE ALL ON vt FROM regress_vs_reader, regress_vs_writer;
REVOKE EXECUTE ON FUNCTION vecsearch_verify(regclass) FROM regress_vs_reader, regress_vs_writer;
DROP ROLE regress_vs_reader, regress_vs_writer;
DROP TABLE vt, vt_empty, vt_wide;
