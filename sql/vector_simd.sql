-- The kernel override: every ISA the CPU supports gives the same distances as the scalar
-- reference, to float precision. (Which ISAs exist depends on the CPU, so the test only
-- prints agreement, never the ISA list.)

SELECT vecsearch_simd() IN ('scalar', 'avx2', 'avx512') AS known_isa;
SET vecsearch.simd = scalar;
SELECT vecsearch_simd();
SHOW vecsearch.simd;
SET vecsearch.simd = bogus;

-- deterministic data with dimensions that exercise every tail length
CREATE TEMP TABLE simd_data AS
SELECT d, i,
	   (SELECT array_agg(sin(i * 1000 + j)::real) FROM generate_series(1, d) j)::vector AS a,
	   (SELECT array_agg(cos(i * 7 + j * 3)::real * 10) FROM generate_series(1, d) j)::vector AS b
FROM unnest(ARRAY[1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 383, 384, 785, 1536]) d,
	 generate_series(1, 4) i;

SET vecsearch.simd = scalar;
CREATE TEMP TABLE simd_ref AS
SELECT d, i, a <-> b AS l2, a <#> b AS ip, a <=> b AS cos, a <+> b AS l1 FROM simd_data;
RESET vecsearch.simd;

-- the relative error bound scales with the dimension: float32 accumulation, see test_kernels
CREATE FUNCTION pg_temp.agrees(x float8, ref float8, scale float8, d int) RETURNS bool
LANGUAGE sql AS $$ SELECT abs(x - ref) <= 1e-6 * d * greatest(scale, 1e-30) + 1e-12 $$;

-- disagreements of one ISA with the scalar reference, per metric; NULL if the CPU lacks it
CREATE FUNCTION pg_temp.check_isa(isa text) RETURNS TABLE (metric text, disagreements bigint)
LANGUAGE plpgsql AS $$
BEGIN
	BEGIN
		PERFORM set_config('vecsearch.simd', isa, true);
	EXCEPTION WHEN invalid_parameter_value THEN
		RETURN;					-- not supported by this CPU: nothing to compare
	END;
	RETURN QUERY
	SELECT m, count(*) FILTER (WHERE NOT ok) FROM (
		SELECT 'l2' m, pg_temp.agrees(s.a <-> s.b, r.l2, r.l2 + vector_norm(s.a) + vector_norm(s.b), s.d) ok
		FROM simd_data s JOIN simd_ref r USING (d, i)
		UNION ALL
		SELECT 'ip', pg_temp.agrees(s.a <#> s.b, r.ip, vector_norm(s.a) * vector_norm(s.b), s.d)
		FROM simd_data s JOIN simd_ref r USING (d, i)
		UNION ALL
		SELECT 'cos', pg_temp.agrees(s.a <=> s.b, r.cos, 1, s.d)
		FROM simd_data s JOIN simd_ref r USING (d, i)
		UNION ALL
		SELECT 'l1', pg_temp.agrees(s.a <+> s.b, r.l1, r.l1, s.d)
		FROM simd_data s JOIN simd_ref r USING (d, i)
	) t GROUP BY m ORDER BY m;
END $$;

-- every ISA this CPU supports agrees with scalar; the auto choice too
SELECT metric, sum(disagreements) AS disagreements, count(*) >= 2 AS compared_auto_and_scalar
FROM unnest(ARRAY['auto', 'scalar', 'avx2', 'avx512']) isa,
	 LATERAL pg_temp.check_isa(isa) c
GROUP BY metric ORDER BY metric;

-- the setting is per session and transaction-scoped with SET LOCAL
BEGIN;
SET LOCAL vecsearch.simd = scalar;
SELECT vecsearch_simd();
COMMIT;
SHOW vecsearch.simd;
