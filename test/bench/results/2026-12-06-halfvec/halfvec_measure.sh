#!/bin/bash
# halfvec hnsw index against vector hnsw: size and recall@10 at the same ef_search
set -e
P="psql -X -q -h 127.0.0.1 -p 54340 -U postgres -d hm"
cd "$(dirname "${BASH_SOURCE[0]}")/../../../.."
# expects table gl (id int, v vector(100)): GloVe-100, first 100,000 rows, in database hm
$P -c "DROP TABLE IF EXISTS fm, fmq; CREATE TABLE fm (id int, label int, v vector(784)); CREATE TABLE fmq (id int, label int, v vector(784))"
/usr/bin/python3 scripts/load_fashion_mnist.py copy train | $P -c "COPY fm FROM STDIN"
/usr/bin/python3 scripts/load_fashion_mnist.py copy test --limit 200 | $P -c "COPY fmq FROM STDIN"
$P <<'SQL'
ALTER TABLE fm ADD COLUMN h halfvec(784);
UPDATE fm SET h = v;
ALTER TABLE gl ADD COLUMN IF NOT EXISTS h halfvec(100);
UPDATE gl SET h = v;
VACUUM ANALYZE fm; VACUUM ANALYZE gl;
SET maintenance_work_mem = '2GB';
CREATE INDEX fm_v ON fm USING hnsw (v vector_l2_ops);
CREATE INDEX fm_h ON fm USING hnsw (h halfvec_l2_ops);
CREATE INDEX gl_v ON gl USING hnsw (v vector_cosine_ops);
CREATE INDEX gl_h ON gl USING hnsw (h halfvec_cosine_ops);
CREATE OR REPLACE FUNCTION recall(tbl text, col text, qtbl text, op text, ef int, nq int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE r record; hits int := 0; total int := 0; got int[]; want int[];
BEGIN
  FOR r IN EXECUTE format('SELECT v FROM %s ORDER BY id LIMIT %s', qtbl, nq) LOOP
    SET LOCAL enable_seqscan = off; PERFORM set_config('hnsw.ef_search', ef::text, true);
    EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM %s ORDER BY %s %s $1::%s LIMIT 10) s', tbl, col, op,
                   CASE WHEN col = 'h' THEN 'halfvec' ELSE 'vector' END) INTO got USING r.v;
    SET LOCAL enable_seqscan = on; SET LOCAL enable_indexscan = off;
    EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM %s ORDER BY v %s $1 LIMIT 10) s', tbl, op) INTO want USING r.v;
    SET LOCAL enable_indexscan = on;
    hits := hits + (SELECT count(*) FROM unnest(got) g WHERE g = ANY(want));
    total := total + 10;
  END LOOP;
  RETURN hits::float8 / total;
END $$;
SQL
$P -c "DROP TABLE IF EXISTS glq; CREATE TABLE glq AS SELECT id, v FROM gl ORDER BY id DESC LIMIT 200"
$P -At -c "SELECT 'fmnist size vector', pg_size_pretty(pg_relation_size('fm_v')), 'halfvec', pg_size_pretty(pg_relation_size('fm_h'))"
$P -At -c "SELECT 'glove size vector', pg_size_pretty(pg_relation_size('gl_v')), 'halfvec', pg_size_pretty(pg_relation_size('gl_h'))"
for ef in 40 100; do
  $P -At -c "SELECT 'fmnist ef $ef recall vector', round(recall('fm','v','fmq','<->',$ef,200)::numeric,4), 'halfvec', round(recall('fm','h','fmq','<->',$ef,200)::numeric,4)"
  $P -At -c "SELECT 'glove ef $ef recall vector', round(recall('gl','v','glq','<=>',$ef,200)::numeric,4), 'halfvec', round(recall('gl','h','glq','<=>',$ef,200)::numeric,4)"
done
