// pgvector's own Node.js client (npm `pgvector` with `pg`) against vecsearch installed under
// pgvector's name (`make install-pgvector-compat`): what an application that switches runs,
// unchanged. CREATE EXTENSION IF NOT EXISTS vector, registerTypes, vector, halfvec, sparsevec
// and bit columns written and read through the client's own conversions, hnsw and ivfflat
// indexes with pgvector's DDL and settings, and every indexed answer checked against exact
// search (the same query with index scans off).
//
// Connects as PGHOST/PGPORT/PGUSER (libpq's variables, as pg reads them) to database
// `postgres`, works in a database of its own and drops it. Prints "ok - name" or
// "not ok - name" per case and ends with "pgvector_client: N passed, N failed".

'use strict';

const pg = require('pg');
const pgvector = require('pgvector/pg');
const { SparseVector } = require('pgvector');

const DATABASE = 'vecsearch_client_test';
const ROWS = 300;

let passed = 0;
let failed = 0;

function report(name, ok, detail) {
  if (ok) {
    passed++;
    console.log(`ok - ${name}`);
  } else {
    failed++;
    console.log(`not ok - ${name}${detail ? ': ' + detail : ''}`);
  }
}

// Deterministic rows with overlapping structure: sums of shared waves.
function embedding(i) {
  return [0, 1, 2].map((j) => Math.round((Math.sin(i * 0.37 + j * 1.3) + Math.cos(i * 0.011 * (j + 1))) * 1000) / 1000);
}

function sparse(i) {
  const e = embedding(i);
  return new SparseVector([e[0], 0, e[1], 0, e[2] > 0 ? e[2] : 0]);
}

function bits(i) {
  return embedding(i).map((x) => (x > 0 ? '1' : '0')).join('');
}

async function withClient(database, fn) {
  const client = new pg.Client({ database });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

// The ids (and distances) of a query, with index scans allowed or not.
async function topK(client, sql, params, useIndex) {
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL enable_seqscan = ${useIndex ? 'off' : 'on'}`);
    await client.query(`SET LOCAL enable_indexscan = ${useIndex ? 'on' : 'off'}`);
    await client.query('SET LOCAL enable_bitmapscan = off');
    const plan = await client.query(`EXPLAIN (COSTS OFF) ${sql}`, params);
    const usedIndex = plan.rows.some((r) => /Index Scan/.test(r['QUERY PLAN']));
    const result = await client.query(sql, params);
    return { usedIndex, rows: result.rows };
  } finally {
    await client.query('COMMIT');
  }
}

// Runs `sql` through the index (which must be used) and without it; the answers must agree.
// With ties (bit distances), compare the distances; otherwise the ids.
async function sameAsExact(client, name, sql, params, byDistance) {
  const viaIndex = await topK(client, sql, params, true);
  const exact = await topK(client, sql, params, false);
  const key = (r) => (byDistance ? Number(r.distance).toFixed(4) : String(r.id));
  const a = viaIndex.rows.map(key).join(',');
  const b = exact.rows.map(key).join(',');
  report(`${name}: uses the index`, viaIndex.usedIndex);
  report(`${name}: same as exact search`, a === b && viaIndex.rows.length > 0, `index ${a} exact ${b}`);
}

async function main() {
  await withClient('postgres', async (admin) => {
    await admin.query(`DROP DATABASE IF EXISTS ${DATABASE}`);
    await admin.query(`CREATE DATABASE ${DATABASE}`);
  });

  try {
    await withClient(DATABASE, async (client) => {
      // ---------------------------------------------------------------- what every client does first
      await client.query('CREATE EXTENSION IF NOT EXISTS vector');
      await client.query('CREATE EXTENSION IF NOT EXISTS vector');
      const ext = await client.query("SELECT extversion FROM pg_extension WHERE extname = 'vector'");
      report('CREATE EXTENSION IF NOT EXISTS vector (twice)', ext.rows.length === 1, JSON.stringify(ext.rows));
      await pgvector.registerTypes(client);
      report('registerTypes finds vector, halfvec and sparsevec', true);

      await client.query(`CREATE TABLE items (id bigserial PRIMARY KEY, category int,
        embedding vector(3), half_embedding halfvec(3), sparse_embedding sparsevec(5),
        binary_embedding bit(3))`);
      for (let i = 1; i <= ROWS; i++) {
        await client.query(
          'INSERT INTO items (category, embedding, half_embedding, sparse_embedding, binary_embedding) VALUES ($1, $2, $3, $4, $5)',
          [i % 10, pgvector.toSql(embedding(i)), pgvector.toSql(embedding(i)), pgvector.toSql(sparse(i)), bits(i)]);
      }

      // ---------------------------------------------------------------- the client's conversions
      const row = (await client.query('SELECT * FROM items WHERE id = 7')).rows[0];
      const want = embedding(7);
      report('vector comes back as the array written', JSON.stringify(row.embedding) === JSON.stringify(want),
        `${JSON.stringify(row.embedding)} vs ${JSON.stringify(want)}`);
      report('halfvec comes back as numbers within half precision',
        row.half_embedding.length === 3 && row.half_embedding.every((x, k) => Math.abs(x - want[k]) <= Math.abs(want[k]) / 1024 + 1e-4),
        JSON.stringify(row.half_embedding));
      report('sparsevec comes back as a SparseVector',
        row.sparse_embedding instanceof SparseVector && row.sparse_embedding.dimensions === 5 &&
        JSON.stringify(row.sparse_embedding.toArray()) === JSON.stringify(sparse(7).toArray()),
        row.sparse_embedding && row.sparse_embedding.toPostgres());
      report('bit comes back as the string written', row.binary_embedding === bits(7), row.binary_embedding);

      const q = pgvector.toSql(embedding(42));
      const qSparse = pgvector.toSql(sparse(42));

      // ---------------------------------------------------------------- pgvector's DDL and settings
      await client.query('CREATE INDEX ON items USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64)');
      await client.query('SET hnsw.ef_search = 200');
      await sameAsExact(client, 'hnsw vector_l2_ops',
        'SELECT id FROM items ORDER BY embedding <-> $1 LIMIT 5', [q]);
      await client.query('SET hnsw.iterative_scan = strict_order');
      await sameAsExact(client, 'hnsw, filtered, hnsw.iterative_scan = strict_order',
        'SELECT id FROM items WHERE category = 3 ORDER BY embedding <-> $1 LIMIT 5', [q]);
      await client.query('RESET hnsw.iterative_scan');

      await client.query('CREATE INDEX ON items USING ivfflat (embedding vector_cosine_ops) WITH (lists = 10)');
      await client.query('SET ivfflat.probes = 10');
      await sameAsExact(client, 'ivfflat vector_cosine_ops, ivfflat.probes = lists',
        'SELECT id FROM items ORDER BY embedding <=> $1 LIMIT 5', [q]);
      await client.query('SET ivfflat.iterative_scan = relaxed_order');
      const filtered = await topK(client,
        'SELECT id FROM items WHERE category = 4 ORDER BY embedding <=> $1 LIMIT 5', [q], true);
      report('ivfflat, filtered, ivfflat.iterative_scan = relaxed_order: LIMIT rows', filtered.rows.length === 5,
        `${filtered.rows.length} rows`);

      await client.query('CREATE INDEX ON items USING hnsw (half_embedding halfvec_l2_ops)');
      await sameAsExact(client, 'hnsw halfvec_l2_ops',
        'SELECT id FROM items ORDER BY half_embedding <-> $1 LIMIT 5', [q]);
      await client.query('CREATE INDEX ON items USING hnsw ((embedding::halfvec(3)) halfvec_cosine_ops)');
      await sameAsExact(client, 'hnsw on (embedding::halfvec(3)) halfvec_cosine_ops',
        'SELECT id FROM items ORDER BY embedding::halfvec(3) <=> $1::halfvec(3) LIMIT 5', [q]);
      await client.query('CREATE INDEX ON items USING hnsw (sparse_embedding sparsevec_l2_ops)');
      await sameAsExact(client, 'hnsw sparsevec_l2_ops',
        'SELECT id FROM items ORDER BY sparse_embedding <-> $1 LIMIT 5', [qSparse]);
      await client.query('CREATE INDEX ON items USING hnsw (binary_embedding bit_hamming_ops)');
      await sameAsExact(client, 'hnsw bit_hamming_ops',
        "SELECT id, binary_embedding <~> $1 AS distance FROM items ORDER BY binary_embedding <~> $1 LIMIT 5",
        [bits(42)], true);
      await client.query('CREATE INDEX ON items USING hnsw ((binary_quantize(embedding)::bit(3)) bit_hamming_ops)');
      await sameAsExact(client, 'hnsw on (binary_quantize(embedding)::bit(3)) bit_hamming_ops',
        'SELECT id, binary_quantize(embedding)::bit(3) <~> binary_quantize($1::vector) AS distance FROM items ' +
        'ORDER BY binary_quantize(embedding)::bit(3) <~> binary_quantize($1::vector) LIMIT 5', [q], true);

      // ---------------------------------------------------------------- the functions the client's docs use
      const f = (await client.query(
        'SELECT l2_distance($1::vector, $2::vector) AS l2, cosine_distance($1::vector, $2::vector) AS cos, ' +
        'inner_product($1::vector, $2::vector) AS ip, avg(embedding)::text AS mean FROM items',
        [pgvector.toSql([1, 0, 0]), pgvector.toSql([0, 1, 0])])).rows[0];
      report('l2_distance, cosine_distance, inner_product, avg',
        Math.abs(f.l2 - Math.SQRT2) < 1e-9 && Math.abs(f.cos - 1) < 1e-9 && f.ip === 0 && f.mean.startsWith('['),
        JSON.stringify(f));
    });
  } finally {
    await withClient('postgres', (admin) => admin.query(`DROP DATABASE IF EXISTS ${DATABASE}`));
  }
}

main()
  .catch((err) => report('the client ran to the end', false, err.stack || String(err)))
  .finally(() => {
    console.log(`pgvector_client: ${passed} passed, ${failed} failed`);
    process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
  });
