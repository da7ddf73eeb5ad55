-- vecsearch.build_device: where builds train and assign rows. Without a usable GPU (the
-- machines CI runs on), auto and cpu build on the CPU and gpu is an ERROR that says why;
-- expected/build_device_1.out is the same run where a GPU is usable (gpu names it in a
-- NOTICE; auto only in the progress view's phase names). Terse messages: the reason (no
-- CUDA build, no driver, no device) and the device name vary by machine.
\set VERBOSITY terse
CREATE TABLE bd (id int, v vector(8));
INSERT INTO bd SELECT i, ARRAY[sin(i), cos(i), sin(2 * i), cos(2 * i), sin(3 * i), cos(3 * i), i % 7, i % 5]::real[]::vector
FROM generate_series(1, 2000) i;
SHOW vecsearch.build_device;
SET vecsearch.build_device = cpu;
CREATE INDEX bd_cpu ON bd USING ivf (v) WITH (lists = 8);
SET vecsearch.build_device = auto;
CREATE INDEX bd_auto ON bd USING ivfpq (v) WITH (lists = 8, subvectors = 4);
SET vecsearch.build_device = gpu;
CREATE INDEX bd_gpu ON bd USING ivf (v) WITH (lists = 8);
SET vecsearch.build_device = tpu;
RESET vecsearch.build_device;
-- the indexes built work
SET enable_seqscan = off;
SET vecsearch.nprobe = 8;
SELECT count(*) FROM (SELECT id FROM bd ORDER BY v <-> '[0,1,0,1,0,1,3,2]' LIMIT 10) s;
DROP TABLE bd;
