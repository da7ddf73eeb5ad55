-- Comparison operators and the btree opclass: ORDER BY, DISTINCT, GROUP BY, UNIQUE.

SELECT '[1,2,3]'::vector = '[1,2,3]'::vector AS eq,
       '[1,2,3]'::vector <> '[1,2,4]'::vector AS ne,
       '[1,2,3]'::vector < '[1,2,4]'::vector AS lt,
       '[1,2,3]'::vector <= '[1,2,3]'::vector AS le,
       '[1,3]'::vector > '[1,2,9]'::vector AS gt,
       '[1,2]'::vector >= '[1,2]'::vector AS ge;

-- a prefix sorts before the longer vector
SELECT '[1,2]'::vector < '[1,2,0]'::vector AS prefix_first;
SELECT vector_cmp('[1,2]', '[1,2]'), vector_cmp('[1,2]', '[1,3]'), vector_cmp('[2]', '[1,9]');

CREATE TEMP TABLE cmp (v vector);
INSERT INTO cmp VALUES ('[3,1]'), ('[1,2,3]'), ('[1,2]'), ('[3,1]'), ('[-1,5]'), ('[1,2]');
SELECT v FROM cmp ORDER BY v;
SELECT DISTINCT v FROM cmp ORDER BY v;
SELECT v, count(*) FROM cmp GROUP BY v ORDER BY v;

-- a btree index, and UNIQUE
CREATE TEMP TABLE uniq (v vector(2) UNIQUE);
INSERT INTO uniq VALUES ('[1,2]'), ('[2,1]');
INSERT INTO uniq VALUES ('[1,2]');
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM uniq WHERE v = '[2,1]';
SELECT * FROM uniq WHERE v = '[2,1]';
RESET enable_seqscan;

-- the opclass is the default for btree
SELECT opcname, opcdefault FROM pg_opclass
WHERE opcintype = 'vector'::regtype AND opcmethod = (SELECT oid FROM pg_am WHERE amname = 'btree');
