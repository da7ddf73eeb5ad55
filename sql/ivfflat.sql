-- USING ivfflat: pgvector's name for the ivf access method, with pgvector's DDL and settings.
CREATE TABLE flat (id int, v vector(4));
INSERT INTO flat SELECT i, ARRAY[sin(i), cos(i), sin(i * 0.3), cos(i * 0.7)]::vector
  FROM generate_series(1, 2000) i;
-- pgvector's DDL, as pg_dump writes it (schema-qualified opclass, quoted reloption)
CREATE INDEX flat_l2 ON flat USING ivfflat (v public.vector_l2_ops) WITH (lists='20');
CREATE INDEX flat_cos ON flat USING ivfflat (v vector_cosine_ops) WITH (lists = 20);
CREATE INDEX flat_ip ON flat USING ivfflat (v vector_ip_ops) WITH (lists = 20);
CREATE INDEX flat_default ON flat USING ivfflat (v);
SELECT c.relname, a.amname, c.reloptions
  FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.relname LIKE 'flat\_%' ORDER BY 1;
-- pgvector's reloption rules
CREATE INDEX ON flat USING ivfflat (v) WITH (lists = 0);
CREATE INDEX ON flat USING ivfflat (v) WITH (list = 10);
-- the opclasses validate under their own access method's name
SELECT amvalidate(opc.oid), opc.opcname
  FROM pg_opclass opc JOIN pg_am a ON a.oid = opc.opcmethod
 WHERE a.amname = 'ivfflat' ORDER BY opc.opcname;
DROP INDEX flat_default, flat_cos, flat_ip;

SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM flat ORDER BY v <-> '[1,0,0,0]' LIMIT 5;
-- ivfflat.probes = lists: exact search
SET ivfflat.probes = 20;
SELECT array_agg(id) AS probes_all
  FROM (SELECT id FROM flat ORDER BY v <-> '[1,0,0,1]' LIMIT 8) s;
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT array_agg(id) AS exact
  FROM (SELECT id FROM flat ORDER BY v <-> '[1,0,0,1]' LIMIT 8) s;
RESET enable_indexscan;
RESET ivfflat.probes;

-- inserts, VACUUM, verification and health work as for ivf
INSERT INTO flat SELECT i, ARRAY[i, 0, 0, 0]::vector FROM generate_series(2001, 2100) i;
DELETE FROM flat WHERE id % 3 = 0;
VACUUM flat;
SELECT count(*) AS problems FROM vecsearch_verify('flat_l2');
SELECT lists, live_rows FROM vecsearch_ivf_health('flat_l2');
DROP TABLE flat;
