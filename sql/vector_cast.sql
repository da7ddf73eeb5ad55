-- Casts between vector and arrays.

SELECT ARRAY[1,2,3]::vector;
SELECT ARRAY[1.5,2.5,3.5]::real[]::vector;
SELECT ARRAY[1.5,2.5,3.5]::double precision[]::vector;
SELECT ARRAY[1.5,2.5,3.5]::numeric[]::vector;
SELECT '{-7,0,7}'::integer[]::vector(3);
SELECT '[1,2,3]'::vector::real[];
SELECT ('[1,2,3]'::vector::real[])[2];

-- assignment casts: arrays go straight into vector columns
CREATE TEMP TABLE c (v vector(2));
INSERT INTO c VALUES (ARRAY[1,2]), (ARRAY[1.5,2.5]::float8[]), (ARRAY[3,4]::numeric[]);
SELECT * FROM c;

-- a round trip through real[] is exact
SELECT v = v::real[]::vector AS same FROM (VALUES ('[0.1,-2e-7,33333.33]'::vector)) t(v);

-- errors: NULL elements, empty and multi-dimensional arrays, non-finite values, range
SELECT ARRAY[1,NULL,3]::vector;
SELECT '{}'::real[]::vector;
SELECT ARRAY[[1,2],[3,4]]::vector;
SELECT ARRAY['NaN']::real[]::vector;
SELECT ARRAY['Infinity']::double precision[]::vector;
SELECT ARRAY['-Infinity']::real[]::vector;
SELECT ARRAY['NaN']::numeric[]::vector;
SELECT ARRAY[1e39]::double precision[]::vector;
-- too small for float4 is zero, as in pgvector (float64 embeddings carry such values)
SELECT ARRAY[1e-50, 1]::double precision[]::vector;
SELECT ARRAY[1e39]::numeric[]::vector;
SELECT array_fill(1::real, ARRAY[16001])::vector;
SELECT ARRAY[1,2,3]::vector(2);
