package org.sparktransfer.bench;

import org.junit.jupiter.api.Test;
import org.slf4j.helpers.MessageFormatter;
import org.sparktransfer.inference.CheckAndScore;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code JobThroughputBenchmark --job-runs}: the model-only row is measured before the first run and after every
 * run, each run is compared with the rows either side of it, and the median of those ratios closes the table; and
 * the benchmark's plumbing around it (model-only results, its photo folders).
 */
class JobRunsTest {

    @Test
    void alternatesModelAndJobAndReportsTheMedianRatio() throws Exception {
        double[] model = {10, 20, 10, 20};
        double[] job = {12, 9, 15};
        List<String> order = new ArrayList<>();
        int[] next = {0};
        List<String> rows = JobThroughputBenchmark.alternating(3, () -> {
            order.add("model");
            double mean = model[next[0]++];
            return new JobThroughputBenchmark.ModelRate(mean, mean * 1.25, "0%");
        }, "PredictJob x", k -> {
            order.add("job " + k);
            return JobThroughputBenchmark.JobOutcome.rate(job[k]);
        }).rows;
        assertEquals(List.of("model", "job 0", "model", "job 1", "model", "job 2", "model"), order);
        assertEquals(4, rows.size());
        // each run against the mean of its neighbours' all-steps rates (15 img/s for all three): 0.80, 0.60, 1.00,
        // median 0.80; against their median-step rates (18.75 img/s) 0.64, 0.48, 0.80
        assertTrue(rows.get(0).startsWith("| PredictJob x, run 1 | 10.00 / 20.00 | 12.00 | 0.80 | 0.64 |"), rows.get(0));
        assertTrue(rows.get(1).startsWith("| PredictJob x, run 2 | 20.00 / 10.00 | 9.00 | 0.60 | 0.48 |"), rows.get(1));
        assertTrue(rows.get(2).startsWith("| PredictJob x, run 3 | 10.00 / 20.00 | 15.00 | 1.00 | 0.80 |"), rows.get(2));
        assertTrue(rows.get(3).startsWith("| PredictJob x, median of 3 runs | | | **0.80** | |"), rows.get(3));
    }

    @Test
    void oneRunIsOneRowWithoutMedian() throws Exception {
        double[] model = {40, 60};
        int[] next = {0};
        List<String> rows = JobThroughputBenchmark.alternating(1,
                () -> new JobThroughputBenchmark.ModelRate(model[next[0]++], 50, "1%"), "TrainJob y",
                k -> JobThroughputBenchmark.JobOutcome.rate(45)).rows;
        assertEquals(1, rows.size());
        assertTrue(rows.get(0).startsWith("| TrainJob y | 40.00 / 60.00 | 45.00 | 0.90 | 0.90 | >= 0.85 | 1% / 1% / "), rows.get(0));
    }

    @Test
    void predictJobRunsAddWhereTheirScoringStageWentAgainstTheirNeighbours() throws Exception {
        double[] model = {40, 60, 20};
        int[] next = {0};
        ScoringTime scoring = ScoringTime.NONE
                .plusTaskLine("12:00:01 INFO CheckAndScore: Task scored 600 images, rejected 2 in 16.0 s: decoding 2.5 s,"
                        + " model load 0.5 s, forward passes 12.0 s")
                .plusTaskLine("12:00:02 INFO Executor: Finished task 0.0 in stage 0.0 (TID 0)")
                .plusTaskLine("    Task scored 400 images, rejected 0 in 9.0 s: decoding 1.5 s, model load 0.0 s,"
                        + " forward passes 7.0 s")
                .withStageSeconds(27.0);
        JobThroughputBenchmark.Table t = JobThroughputBenchmark.alternating(2,
                () -> new JobThroughputBenchmark.ModelRate(model[next[0]++], 1, "0%"), "PredictJob z",
                k -> new JobThroughputBenchmark.JobOutcome(1000 / 27.0, scoring));
        assertEquals(3, t.rows.size());
        assertEquals(2, t.scoringRows.size());
        // run 1 against 50 img/s: 20 s at the model-only rate, forward passes 19 s (1000 / 19 / 50 = 1.05), decoding
        // 4 s, model load 0.5 s, the rest of the tasks 25 - 4 - 0.5 - 19 = 1.5 s, outside them 27 - 25 = 2 s; with
        // decoding the only cost added 20 / 24 = 0.83
        assertEquals("| PredictJob z, run 1 | 1000 | 27.0 | 20.0 | 19.0 (1.05) | 4.0 | 0.5 | 1.5 | 2.0 | 0.83 |",
                t.scoringRows.get(0));
        // run 2 against 40 img/s: 25 s at the model-only rate, forward 1000 / 19 / 40 = 1.32, 25 / 29 = 0.86
        assertEquals("| PredictJob z, run 2 | 1000 | 27.0 | 25.0 | 19.0 (1.32) | 4.0 | 0.5 | 1.5 | 2.0 | 0.86 |",
                t.scoringRows.get(1));
    }

    @Test
    void theBenchmarkReadsTheTaskLineCheckAndScoreLogs() {
        String logged = MessageFormatter.arrayFormat(CheckAndScore.TASK_LINE,
                new Object[] {7, 1, "1.0", "0.1", "0.0", "0.8"}).getMessage();
        ScoringTime t = ScoringTime.NONE.plusTaskLine("12:00:01 INFO CheckAndScore: " + logged);
        assertEquals(new ScoringTime(7, 0, 1.0, 0.1, 0.0, 0.8), t);
    }

    @Test
    void medianOfOddAndEvenCountsLeavesTheInputAlone() {
        double[] odd = {3, 1, 2};
        assertEquals(2, ResNetBenchmark.median(odd));
        assertArrayEquals(new double[] {3, 1, 2}, odd);
        assertEquals(2.5, ResNetBenchmark.median(new double[] {4, 1, 3, 2}));
    }

    @Test
    void jobRunsMustBePositive() {
        assertEquals(3, JobThroughputBenchmark.parse(new String[] {"--job-runs", "3"}).jobRuns);
        assertThrows(IllegalArgumentException.class, () -> JobThroughputBenchmark.parse(new String[] {"--job-runs", "0"}));
    }

    @Test
    void aKeptWorkDirHoldsOneFolderOfPhotosPerCount(@TempDir Path work) throws IOException {
        Path three = JobThroughputBenchmark.writeOnce(work, "predict-images", 3);
        Path five = JobThroughputBenchmark.writeOnce(work, "predict-images", 5);
        assertEquals(work.resolve("predict-images-3"), three);
        assertEquals(work.resolve("predict-images-5"), five);
        assertEquals(3, jpegs(three), "another count does not reuse the first folder");
        assertEquals(5, jpegs(five));
        try (Stream<Path> classA = Files.list(five.resolve("a"))) {
            Files.delete(classA.findFirst().orElseThrow());
        }
        JobThroughputBenchmark.writeOnce(work, "predict-images", 5);
        assertEquals(4, jpegs(five), "a folder that exists is kept as it is (written once)");
    }

    private static long jpegs(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(f -> f.toString().endsWith(".jpg")).count();
        }
    }

    @Test
    void aModelOnlyChildReportsTheMedianStepAndTheMeanRate() {
        ResNetBenchmark.Result r = ResNetBenchmark.Driver.parseResult(List.of("  warm-up: 12 steps in 10.3 s",
                "RESULT img_per_s=20.000 heap_mib=100.0 offheap_mib=200.0 rss_mib=3000.0 mean_img_per_s=18.500"), "x");
        assertEquals(20.0, r.imgPerS());
        assertEquals(18.5, r.meanImgPerS());
        ResNetBenchmark.Result old = ResNetBenchmark.Driver.parseResult(
                List.of("RESULT img_per_s=20.000 heap_mib=100.0 offheap_mib=200.0 rss_mib=3000.0"), "y");
        assertTrue(Double.isNaN(old.meanImgPerS()), "a line without the mean leaves it unmeasured");
    }
}
