-- Distance operators and element-wise arithmetic.

SELECT '[1,2,3]'::vector <-> '[4,6,8]'::vector AS l2;
SELECT '[1,2,3]'::vector <#> '[4,5,6]'::vector AS neg_ip;
SELECT '[1,2,3]'::vector <=> '[2,4,6]'::vector AS cos_parallel;
SELECT '[1,0]'::vector <=> '[0,1]'::vector AS cos_orthogonal;
SELECT '[1,1]'::vector <=> '[-1,-1]'::vector AS cos_opposite;
SELECT '[1,2,3]'::vector <+> '[4,0,-1]'::vector AS l1;

-- the same with commuted operands
SELECT '[4,6,8]'::vector <-> '[1,2,3]'::vector AS l2_commuted;

-- zero vectors: L2/IP/L1 are defined, cosine is not (NaN, sorted last)
SELECT '[0,0]'::vector <-> '[3,4]'::vector AS l2_zero,
       '[0,0]'::vector <#> '[3,4]'::vector AS ip_zero,
       '[0,0]'::vector <=> '[3,4]'::vector AS cos_zero,
       '[0,0]'::vector <+> '[3,4]'::vector AS l1_zero;

-- arithmetic
SELECT '[1,2,3]'::vector + '[4,5,6]'::vector AS sum;
SELECT '[1,2,3]'::vector - '[4,5,6]'::vector AS diff;
SELECT '[1,2,3]'::vector * '[4,5,-6]'::vector AS product;
SELECT '[1,2]'::vector || '[3]'::vector AS concat;

-- overflow and underflow of element-wise results are errors, as for real
SELECT '[3e38]'::vector + '[3e38]'::vector;
SELECT '[-3e38]'::vector - '[3e38]'::vector;
SELECT '[1e20]'::vector * '[1e20]'::vector;
SELECT '[1e-30]'::vector * '[1e-30]'::vector;

-- dimension mismatch is an error for every binary operator
SELECT '[1,2]'::vector <-> '[1,2,3]'::vector;
SELECT '[1,2]'::vector <#> '[1,2,3]'::vector;
SELECT '[1,2]'::vector <=> '[1,2,3]'::vector;
SELECT '[1,2]'::vector <+> '[1,2,3]'::vector;
SELECT '[1,2]'::vector + '[1,2,3]'::vector;
SELECT '[1,2]'::vector - '[1,2,3]'::vector;
SELECT '[1,2]'::vector * '[1,2,3]'::vector;

-- NULL in, NULL out
SELECT NULL::vector <-> '[1]'::vector IS NULL AS is_null;

-- operator metadata: commutators are set so the planner can flip operands
SELECT oprname, oprcom = oid AS commutes_with_itself FROM pg_operator
WHERE oprleft = 'vector'::regtype AND oprname IN ('<->', '<#>', '<=>', '<+>', '+', '*')
ORDER BY oprname;
