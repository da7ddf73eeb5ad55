
# Copyright (c) vecsearch contributors
#
# Helpers shared by the ivf TAP tests: SET lines that force a plan, and the comparison of
# an index's top k with exact search.
package IvfTest;

use strict;
use warnings;

use Exporter 'import';
use List::Util qw(max);

our @EXPORT = qw(gen_vec_sql force_index force_exact parse_rows knn_matches);

# SQL that creates gen_vec(seed, cat, dim): cluster centre `cat` (of 8, overlapping) plus
# deterministic noise from a sine hash of (seed, i). Never a zero vector.
sub gen_vec_sql
{
	return <<'SQL';
CREATE FUNCTION gen_vec(seed bigint, cat int, dim int) RETURNS vector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT array_agg(2.0 * sin(cat * 1.37 + i * 0.71)
		+ 3.0 * ((sin(seed * 12.9898 + i * 78.233 + cat) * 43758.5453)
			- floor(sin(seed * 12.9898 + i * 78.233 + cat) * 43758.5453) - 0.5)
		ORDER BY i)::vector
	FROM generate_series(1, dim) i
$$;
SQL
}

# An index scan that reads every list (so it must equal exact search).
sub force_index
{
	my ($lists) = @_;
	return "SET enable_seqscan = off; SET enable_bitmapscan = off; "
	  . "SET vecsearch.nprobe = $lists; SET vecsearch.max_probes = -1;\n";
}

# Exact search: a sort over a sequential scan.
sub force_exact
{
	return "SET enable_indexscan = off; SET enable_bitmapscan = off;\n";
}

# psql's "id|distance" lines as [[id, distance], ...].
sub parse_rows
{
	my ($out) = @_;
	return [ map { [ split /\|/ ] } grep { $_ ne '' } split /\n/, $out ];
}

# The index's top k against exact search. Identical id lists pass; otherwise the lists
# may differ only where distances tie (within float rounding): position by position the
# distances must agree, and the index must not return a row twice. Returns (ok, why).
sub knn_matches
{
	my ($got, $want) = @_;
	my $gids = join(',', map { $_->[0] } @$got);
	my $wids = join(',', map { $_->[0] } @$want);
	return (1, '') if $gids eq $wids;
	return (0, "index returned " . scalar(@$got) . " rows, exact search " . scalar(@$want))
	  if @$got != @$want;
	my %seen;
	for my $i (0 .. $#$want)
	{
		my ($gi, $gd) = @{ $got->[$i] };
		my ($wi, $wd) = @{ $want->[$i] };
		return (0, "index returned id $gi twice") if $seen{$gi}++;
		return (0, "position $i: index id $gi at distance $gd, exact id $wi at distance $wd")
		  if abs($gd - $wd) > 1e-4 * max(1, abs($wd));
	}
	return (1, "ids differ only among equal distances:\n index $gids\n exact $wids");
}

1;
