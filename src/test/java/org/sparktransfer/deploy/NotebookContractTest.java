package org.sparktransfer.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparktransfer.jobs.Cli;
import org.sparktransfer.jobs.PredictCommand;
import org.sparktransfer.jobs.TrainCommand;

/**
 * The notebooks against real job outputs: a tiny TrainJob and PredictJob run on generated images,
 * then (1) each notebook is valid nbformat 4, (2) every table and column its metadata declares
 * exists in those outputs with the declared Spark type, (3) its code names no column it did not
 * declare, and (4) it executes headless with Debian's nbconvert and the pyarrow wheel
 * (notebooks/install-python-deps.sh). A missing notebook engine fails the test: CI installs it.
 */
class NotebookContractTest {
    private static final Path ROOT = Path.of("").toAbsolutePath();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] CLASSES = {"circle", "square", "stripe"};

    @TempDir
    static Path work;
    private static org.sparktransfer.testing.LocalSpark local;
    private static SparkSession spark;
    private static Path runDir;
    private static Path predictionsDir;

    @BeforeAll
    static void runTheJobs() throws IOException {
        Path images = work.resolve("images");
        writeImages(images, 8);
        local = org.sparktransfer.testing.LocalSpark.start();
        spark = local.spark();
        Path runs = work.resolve("runs");
        int train = Cli.run(new TrainCommand(), new String[] {
                "--images", images.toString(), "--output", runs.toString(), "--run-name", "nb",
                "--image-size", "32", "--resize-size", "36", "--epochs", "1", "--batch-size", "8",
                "--rdd-approach", "DIRECT", "--freeze", "backbone", "--val-fraction", "0.25"});
        assertEquals(0, train, "TrainJob exit code");
        runDir = runs.resolve("nb");
        predictionsDir = work.resolve("predictions");
        int predict = Cli.run(new PredictCommand(), new String[] {
                "--model", runDir.toString(), "--images", images.toString(), "--output", predictionsDir.toString(),
                "--run-date", "2026-11-28", "--batch-size", "8"});
        assertEquals(0, predict, "PredictJob exit code");
    }

    @AfterAll
    static void stop() {
        if (local != null) {
            local.close();
        }
    }

    static List<Path> notebooks() throws IOException {
        try (Stream<Path> s = Files.list(ROOT.resolve("notebooks"))) {
            List<Path> list = s.filter(p -> p.toString().endsWith(".ipynb")).sorted().toList();
            assertTrue(list.size() >= 2, "notebooks found: " + list);
            return list;
        }
    }

    @Test
    void notebooksAreValidNbformat4() throws IOException {
        for (Path nb : notebooks()) {
            assertEquals(List.of(), structureProblems(JSON.readTree(nb.toFile())), nb.getFileName().toString());
        }
    }

    @Test
    void structureCheckRejectsABrokenNotebook() throws IOException {
        ObjectNode nb = (ObjectNode) JSON.readTree(notebooks().get(0).toFile());
        ObjectNode code = null;
        for (JsonNode c : nb.get("cells")) {
            if (c.get("cell_type").asText().equals("code")) {
                code = (ObjectNode) c;
                break;
            }
        }
        code.remove("outputs");
        nb.put("nbformat", 3);
        List<String> problems = structureProblems(nb);
        assertTrue(problems.stream().anyMatch(p -> p.contains("outputs")), problems.toString());
        assertTrue(problems.stream().anyMatch(p -> p.contains("nbformat")), problems.toString());
    }

    /** Each declared column exists in the real output with the declared Spark type. */
    @Test
    void declaredTablesAndColumnsExistInRealOutputs() throws IOException {
        List<String> problems = new ArrayList<>();
        for (Path nb : notebooks()) {
            JsonNode reads = contract(nb).get("reads");
            for (Iterator<Map.Entry<String, JsonNode>> it = reads.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> table = it.next();
                Path dir = base(table.getValue().get("location").asText()).resolve(table.getKey());
                if (!Files.isDirectory(dir)) {
                    problems.add(nb.getFileName() + ": table " + table.getKey() + " not found at " + dir);
                    continue;
                }
                StructType schema = spark.read().parquet(dir.toString()).schema();
                Map<String, String> actual = new HashMap<>();
                for (StructField f : schema.fields()) {
                    actual.put(f.name(), f.dataType().simpleString());
                }
                table.getValue().get("columns").fields().forEachRemaining(col -> {
                    String have = actual.get(col.getKey());
                    if (!col.getValue().asText().equals(have)) {
                        problems.add(nb.getFileName() + ": " + table.getKey() + "." + col.getKey() + " declared "
                                + col.getValue().asText() + ", output has " + (have == null ? "no such column" : have));
                    }
                });
            }
        }
        assertEquals(List.of(), problems);
    }

    @Test
    void codeReferencesOnlyDeclaredColumns() throws IOException {
        for (Path nb : notebooks()) {
            JsonNode doc = JSON.readTree(nb.toFile());
            Set<String> declared = declaredColumns(contract(nb));
            Set<String> used = columnReferences(code(doc));
            Set<String> undeclared = new LinkedHashSet<>(used);
            undeclared.removeAll(declared);
            assertEquals(Set.of(), undeclared, nb.getFileName() + " uses columns its metadata does not declare");
            Set<String> unused = new LinkedHashSet<>(declared);
            unused.removeAll(used);
            assertEquals(Set.of(), unused, nb.getFileName() + " declares columns its code never reads");
        }
        // The reference scanner itself.
        assertEquals(Set.of("a", "b", "c", "d", "e"), columnReferences(
                "df[\"a\"]\ndf[[\"b\", 'c']]\nx.pivot_table(index=\"d\", values='e', aggfunc=\"sum\")\nplt.plot(ha=\"center\")"));
    }

    @Test
    void notebooksExecuteHeadlessOnTheRealOutputs() throws Exception {
        Path pydeps = ROOT.resolve("target/pydeps");
        String python = "/usr/bin/python3";
        ProcessBuilder probing = new ProcessBuilder(python, "-c", "import nbconvert, nbclient, ipykernel, pyarrow, pandas, matplotlib")
                .redirectErrorStream(true);
        probing.environment().put("PYTHONPATH", pydeps.toString());
        Process probe = probing.start();
        String probeOut = new String(probe.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        // Not a skip: CI installs the engine, so its absence is a broken build.
        if (!probe.waitFor(60, TimeUnit.SECONDS) || probe.exitValue() != 0) {
            fail("the notebook engine is missing (" + probeOut.strip() + "); run notebooks/install-python-deps.sh "
                    + "(Debian jupyter-nbconvert, python3-nbclient, python3-ipykernel, python3-pandas, python3-matplotlib "
                    + "and pyarrow in " + pydeps + ")");
        }
        Path out = work.resolve("executed");
        Files.createDirectories(out);
        for (Path nb : notebooks()) {
            ProcessBuilder pb = new ProcessBuilder(python, "-m", "nbconvert", "--to", "notebook", "--execute",
                    "--ExecutePreprocessor.timeout=300", "--output-dir", out.toString(), nb.toString())
                    .redirectErrorStream(true);
            pb.environment().put("PYTHONPATH", pydeps.toString());
            pb.environment().put("RUN_DIR", runDir.toString());
            pb.environment().put("PREDICTIONS_DIR", predictionsDir.toString());
            pb.environment().remove("RUN_ID");
            Process p = pb.start();
            String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(10, TimeUnit.MINUTES), nb + " timed out");
            assertEquals(0, p.exitValue(), nb.getFileName() + " failed to execute:\n" + log);
            JsonNode executed = JSON.readTree(out.resolve(nb.getFileName()).toFile());
            int images = 0;
            for (JsonNode cell : executed.get("cells")) {
                for (JsonNode o : cell.path("outputs")) {
                    assertTrue(!o.path("output_type").asText().equals("error"), nb.getFileName() + ": " + o);
                    images += o.path("data").has("image/png") ? 1 : 0;
                }
            }
            // Every unconditional plt.show() must have rendered a figure (conditional ones may not run).
            long charts = Pattern.compile("(?m)^plt\\.show\\(\\)").matcher(code(JSON.readTree(nb.toFile()))).results().count();
            assertTrue(charts > 0 && images >= charts, nb.getFileName() + " drew " + images + " figures, expected " + charts);
        }
    }

    static List<String> structureProblems(JsonNode nb) {
        List<String> problems = new ArrayList<>();
        if (nb.path("nbformat").asInt() != 4) {
            problems.add("nbformat must be 4, got " + nb.path("nbformat"));
        }
        if (!nb.path("nbformat_minor").isInt()) {
            problems.add("nbformat_minor must be an integer");
        }
        if (!nb.path("metadata").isObject() || !nb.path("metadata").path("kernelspec").path("language").asText().equals("python")) {
            problems.add("metadata.kernelspec must name a Python kernel");
        }
        if (!nb.path("cells").isArray() || nb.path("cells").isEmpty()) {
            problems.add("cells must be a non-empty array");
            return problems;
        }
        int i = 0;
        for (JsonNode c : nb.get("cells")) {
            String at = "cell " + i++ + ": ";
            String type = c.path("cell_type").asText();
            if (!Set.of("code", "markdown", "raw").contains(type)) {
                problems.add(at + "cell_type '" + type + "'");
            }
            if (!c.path("metadata").isObject()) {
                problems.add(at + "metadata must be an object");
            }
            JsonNode source = c.get("source");
            boolean lines = source != null && source.isArray();
            if (lines) {
                for (JsonNode l : source) {
                    lines &= l.isTextual();
                }
            }
            if (source == null || !(source.isTextual() || lines)) {
                problems.add(at + "source must be a string or a list of strings");
            }
            if (type.equals("code")) {
                if (!c.path("outputs").isArray()) {
                    problems.add(at + "code cell without outputs array");
                }
                if (!c.has("execution_count") || !(c.get("execution_count").isNull() || c.get("execution_count").isInt())) {
                    problems.add(at + "code cell without execution_count (null or integer)");
                }
            }
        }
        if (!nb.path("metadata").path("spark_transfer").path("reads").isObject()) {
            problems.add("metadata.spark_transfer.reads must declare the tables and columns the notebook reads");
        }
        return problems;
    }

    private static final Pattern SUBSCRIPT = Pattern.compile("\\[\\s*\\[?((?:\\s*[\"'][A-Za-z_][A-Za-z0-9_]*[\"']\\s*,?)+)\\s*\\]?\\s*\\]");
    private static final Pattern KEYWORD = Pattern.compile("\\b(?:columns|index|values|by|subset|on)\\s*=\\s*(\\[[^\\]]*\\]|[\"'][^\"']*[\"'])");
    private static final Pattern METHOD = Pattern.compile(
            "\\.(?:sort_values|groupby|set_index|nlargest|nsmallest|drop_duplicates|field)\\(\\s*(\\[[^\\]]*\\]|[\"'][^\"']*[\"'])");
    private static final Pattern LITERAL = Pattern.compile("[\"']([A-Za-z_][A-Za-z0-9_]*)[\"']");

    /** Column names the code uses: subscripts, pandas keyword arguments, sort/group calls, pyarrow fields. */
    static Set<String> columnReferences(String code) {
        Set<String> names = new LinkedHashSet<>();
        for (Pattern p : List.of(SUBSCRIPT, KEYWORD, METHOD)) {
            Matcher m = p.matcher(code);
            while (m.find()) {
                Matcher lit = LITERAL.matcher(m.group(1));
                while (lit.find()) {
                    names.add(lit.group(1));
                }
            }
        }
        return names;
    }

    private static Set<String> declaredColumns(JsonNode contract) {
        Set<String> names = new LinkedHashSet<>();
        contract.get("reads").forEach(t -> t.get("columns").fieldNames().forEachRemaining(names::add));
        contract.path("derived").forEach(d -> names.add(d.asText()));
        return names;
    }

    private static String code(JsonNode nb) {
        StringBuilder sb = new StringBuilder();
        for (JsonNode c : nb.get("cells")) {
            if (c.get("cell_type").asText().equals("code")) {
                JsonNode s = c.get("source");
                if (s.isArray()) {
                    s.forEach(l -> sb.append(l.asText()));
                } else {
                    sb.append(s.asText());
                }
                sb.append('\n');
            }
        }
        return sb.toString();
    }

    private static JsonNode contract(Path nb) throws IOException {
        JsonNode c = JSON.readTree(nb.toFile()).path("metadata").path("spark_transfer");
        assertTrue(c.path("reads").isObject(), nb + ": metadata.spark_transfer.reads missing");
        return c;
    }

    private static Path base(String parameter) {
        return switch (parameter) {
            case "RUN_DIR" -> runDir;
            case "PREDICTIONS_DIR" -> predictionsDir;
            default -> throw new AssertionError("unknown location parameter " + parameter);
        };
    }

    /** Three visually distinct classes, so one epoch already separates some of them. */
    static void writeImages(Path root, int perClass) throws IOException {
        Random rnd = new Random(7);
        for (int c = 0; c < CLASSES.length; c++) {
            Path dir = Files.createDirectories(root.resolve(CLASSES[c]));
            for (int i = 0; i < perClass; i++) {
                BufferedImage img = new BufferedImage(40 + rnd.nextInt(8), 40, BufferedImage.TYPE_INT_RGB);
                Graphics2D g = img.createGraphics();
                g.setColor(new Color(200 + rnd.nextInt(55), 200 + rnd.nextInt(55), 200 + rnd.nextInt(55)));
                g.fillRect(0, 0, img.getWidth(), 40);
                g.setColor(new Color(rnd.nextInt(90), rnd.nextInt(90), 120 + rnd.nextInt(130)));
                switch (c) {
                    case 0 -> g.fillOval(8, 8, 24, 24);
                    case 1 -> g.fillRect(8, 8, 24, 24);
                    default -> {
                        for (int x = 0; x < img.getWidth(); x += 8) {
                            g.fillRect(x, 0, 4, 40);
                        }
                    }
                }
                g.dispose();
                ImageIO.write(img, "png", dir.resolve(CLASSES[c] + "-" + i + ".png").toFile());
            }
        }
    }
}
