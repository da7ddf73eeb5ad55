-- ALTER commands that would leave an index its build refuses are refused, so that
-- REINDEX, VACUUM FULL and CLUSTER can always build every index again.
CREATE TABLE ddl_t (id int, v vector(8));
INSERT INTO ddl_t SELECT i, ARRAY(SELECT ((i * j) % 11)::real FROM generate_series(1, 8) j)::vector
FROM generate_series(1, 300) i;

-- ivfpq: subvectors must divide the dimension, on ALTER as on CREATE
CREATE INDEX ddl_pq ON ddl_t USING ivfpq (v) WITH (lists = 4, subvectors = 4);
-- a new session's first ALTER is what loads the library, halfway through the command:
-- checked all the same (before the transaction commits)
\c
ALTER INDEX ddl_pq SET (subvectors = 3);
SELECT reloptions FROM pg_class WHERE relname = 'ddl_pq';
ALTER INDEX ddl_pq SET (subvectors = 3);
SELECT reloptions FROM pg_class WHERE relname = 'ddl_pq';
ALTER INDEX ddl_pq SET (subvectors = 2);
SELECT reloptions FROM pg_class WHERE relname = 'ddl_pq';
ALTER INDEX ddl_pq RESET (subvectors);
REINDEX INDEX ddl_pq;
VACUUM FULL ddl_t;
-- the same through ALTER TABLE on the index, and inside a transaction that goes on
BEGIN;
ALTER TABLE ddl_pq SET (subvectors = 5);
ROLLBACK;
SELECT reloptions FROM pg_class WHERE relname = 'ddl_pq';
DROP INDEX ddl_pq;

-- hnsw needs the column's dimension: dropping it is refused while such an index exists
CREATE INDEX ddl_h ON ddl_t USING hnsw (v) WITH (m = 4, ef_construction = 16);
\c
ALTER TABLE ddl_t ALTER COLUMN v TYPE vector;
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'ddl_t'::regclass AND attname = 'v';
ALTER TABLE ddl_t ALTER COLUMN v TYPE vector;
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'ddl_t'::regclass AND attname = 'v';
REINDEX TABLE ddl_t;
ALTER INDEX ddl_h SET (ef_construction = 4);
ALTER INDEX ddl_h SET (m = 6);
REINDEX INDEX ddl_h;
-- another dimension: the cast checks every row (and refuses here); on an empty table
-- the index is built again for the new dimension and keeps working
ALTER TABLE ddl_t ALTER COLUMN v TYPE vector(4);
CREATE TABLE ddl_e (v vector(8));
CREATE INDEX ddl_e_h ON ddl_e USING hnsw (v);
ALTER TABLE ddl_e ALTER COLUMN v TYPE vector(4);
INSERT INTO ddl_e VALUES ('[1,2,3,4]');
REINDEX TABLE ddl_e;
ALTER TABLE ddl_e ALTER COLUMN v TYPE vector;
DROP INDEX ddl_e_h;
ALTER TABLE ddl_e ALTER COLUMN v TYPE vector;
-- partitions' indexes count too
CREATE TABLE ddl_p (id int, v vector(3)) PARTITION BY RANGE (id);
CREATE TABLE ddl_p1 PARTITION OF ddl_p FOR VALUES FROM (0) TO (100);
CREATE INDEX ddl_p_h ON ddl_p USING hnsw (v);
ALTER TABLE ddl_p ALTER COLUMN v TYPE vector;
DROP TABLE ddl_p;
-- an ivf index on rows takes its dimension from them: that ALTER stays allowed
DROP INDEX ddl_h;
CREATE INDEX ddl_ivf ON ddl_t USING ivf (v) WITH (lists = 4);
ALTER TABLE ddl_t ALTER COLUMN v TYPE vector;
REINDEX INDEX ddl_ivf;
-- ALTER ... IF EXISTS on nothing is still fine
ALTER INDEX IF EXISTS ddl_nothing SET (subvectors = 3);
DROP TABLE ddl_t, ddl_e;
