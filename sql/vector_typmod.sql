-- vector(n): the dimension a column enforces.

CREATE TEMP TABLE t3 (v vector(3));
INSERT INTO t3 VALUES ('[1,2,3]');
INSERT INTO t3 VALUES ('[1,2]');
INSERT INTO t3 VALUES ('[1,2,3,4]');
INSERT INTO t3 VALUES (ARRAY[1,2,3]);
INSERT INTO t3 VALUES (ARRAY[1,2]);
UPDATE t3 SET v = v || '[4]'::vector;
SELECT * FROM t3;

-- typmod on casts
SELECT '[1,2]'::vector(2);
SELECT '[1,2]'::vector(3);
SELECT ARRAY[1.0,2.0]::real[]::vector(2);
SELECT ARRAY[1.0,2.0]::real[]::vector(3);

-- the typmod shows in the catalog
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
WHERE attrelid = 't3'::regclass AND attname = 'v';

-- typmod limits
CREATE TEMP TABLE bad1 (v vector(0));
CREATE TEMP TABLE bad2 (v vector(16001));
CREATE TEMP TABLE bad3 (v vector(3, 4));
CREATE TEMP TABLE ok_max (v vector(16000));
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
WHERE attrelid = 'ok_max'::regclass AND attname = 'v';

-- an unconstrained column takes any dimension
CREATE TEMP TABLE tany (v vector);
INSERT INTO tany VALUES ('[1]'), ('[1,2,3,4,5]');
SELECT vector_dims(v) FROM tany ORDER BY 1;
