-- The SQL functions.

SELECT l2_distance('[0,0]'::vector, '[3,4]');
SELECT inner_product('[1,2,3]'::vector, '[4,5,6]');
SELECT cosine_distance('[1,2]'::vector, '[2,4]');
SELECT cosine_distance('[1,0]'::vector, '[1,1]');
SELECT l1_distance('[1,2,3]'::vector, '[0,0,0]');
SELECT vector_l2_squared_distance('[0,0]'::vector, '[3,4]');
SELECT vector_negative_inner_product('[1,2,3]'::vector, '[4,5,6]');

-- functions agree with their operators
SELECT l2_distance(a, b) = (a <-> b) AS l2, inner_product(a, b) = -(a <#> b) AS ip,
       cosine_distance(a, b) = (a <=> b) AS cos, l1_distance(a, b) = (a <+> b) AS l1
FROM (VALUES ('[1.5,-2,3]'::vector, '[0.25,4,-1]'::vector)) t(a, b);

SELECT vector_dims('[1,2,3]'::vector);
SELECT vector_dims('[1]'::vector);
SELECT vector_norm('[3,4]'::vector);
SELECT vector_norm('[0,0,0]'::vector);
SELECT round(vector_norm('[1,1,1,1]'::vector)::numeric, 6);

SELECT l2_normalize('[3,4]'::vector);
SELECT l2_normalize('[0,0]'::vector);
SELECT round(vector_norm(l2_normalize('[1.5,-2,7,0.001]'::vector))::numeric, 6);

-- subvector(v, start, count), 1-based, clipped like substring()
SELECT subvector('[1,2,3,4,5]'::vector, 2, 3);
SELECT subvector('[1,2,3,4,5]'::vector, 1, 5);
SELECT subvector('[1,2,3,4,5]'::vector, 4, 10);
SELECT subvector('[1,2,3,4,5]'::vector, -1, 3);
SELECT subvector('[1,2,3,4,5]'::vector, 5, 1);
SELECT subvector('[1,2,3,4,5]'::vector, 6, 1);
SELECT subvector('[1,2,3,4,5]'::vector, -5, 3);
SELECT subvector('[1,2,3,4,5]'::vector, 2, 0);
SELECT subvector('[1,2,3,4,5]'::vector, 2147483647, 2147483647);

-- concatenation respects the maximum
SELECT vector_dims(array_fill(1::real, ARRAY[8000])::vector || array_fill(2::real, ARRAY[8000])::vector);
SELECT array_fill(1::real, ARRAY[8000])::vector || array_fill(2::real, ARRAY[8001])::vector;

-- distances on high-dimensional vectors (every SIMD tail length is covered by the unit tests)
SELECT l2_distance(array_fill(1::real, ARRAY[16000])::vector, array_fill(0::real, ARRAY[16000])::vector);
SELECT inner_product(array_fill(0.5::real, ARRAY[785])::vector, array_fill(2::real, ARRAY[785])::vector);
SELECT l1_distance(array_fill(-1::real, ARRAY[17])::vector, array_fill(1::real, ARRAY[17])::vector);
