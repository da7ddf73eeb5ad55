-- Text and binary input/output of the vector type.

-- text form: white space, signs, exponents and integers are all accepted
SELECT '[1,2,3]'::vector;
SELECT ' [ 1 , -2.5 ,3e2 ] '::vector;
SELECT '[1.5e-3, -0, +4]'::vector;
SELECT E'[\t1,\n2\r]'::vector;

-- output is the shortest text that reads back to the same float4
SELECT '[0.1, 0.2, 0.30000001]'::vector;
SELECT '[3.4028235e38, -3.4028235e38, 1.1754944e-38, 1e-45]'::vector;
SELECT '[16777217, 0.333333333333]'::vector;
SELECT v::text::vector = v AS round_trips
FROM (VALUES ('[0.1,0.2,0.3]'::vector), ('[1e-30, 7.0000005, -123456.79]')) t(v);

-- the 16,000-dimension maximum is reachable
SELECT vector_dims(array_fill(1.5::real, ARRAY[16000])::vector);
SELECT vector_dims(('[' || repeat('1,', 15999) || '1]')::vector);

-- binary send/recv: the same wire layout as pgvector (int16 dim, int16 0, float4 elements)
SELECT vector_send('[1,2,3]'::vector);
SELECT vector_send('[-0.5]'::vector);

-- round trip through binary COPY
CREATE TEMP TABLE io_src (id int, v vector(3));
INSERT INTO io_src VALUES (1, '[1,2,3]'), (2, '[-1.5,0,1e-20]'), (3, NULL);
COPY io_src TO '/tmp/vecsearch_io_test.bin' WITH (FORMAT binary);
CREATE TEMP TABLE io_dst (id int, v vector(3));
COPY io_dst FROM '/tmp/vecsearch_io_test.bin' WITH (FORMAT binary);
SELECT id, v, v = (SELECT v FROM io_src s WHERE s.id = d.id) AS same FROM io_dst d ORDER BY id;

-- a binary value for the wrong typmod is refused
CREATE TEMP TABLE io_dst2 (id int, v vector(4));
COPY io_dst2 FROM '/tmp/vecsearch_io_test.bin' WITH (FORMAT binary);

-- storage is EXTERNAL (floats do not compress)
SELECT typstorage, typlen FROM pg_type WHERE typname = 'vector';

-- a value too small for float4 reads as zero (pgvector's rule; float4in would refuse it)
SELECT '[1e-46,1]'::vector, '[-1e-50, 2]'::vector, '[1e-45]'::vector;
