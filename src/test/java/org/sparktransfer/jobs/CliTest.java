package org.sparktransfer.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.sparktransfer.testing.TestImages;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/** Job command lines: help, defaults, one-line errors with exit code 2, and --summary (no training). */
class CliTest {

    record Run(int code, String out, String err) {}

    static Run run(Callable<Integer> command, String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Cli.run(command, args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void helpListsEveryOptionWithItsDefault() {
        for (Callable<Integer> cmd : new Callable[] {new TrainCommand(), new PredictCommand(), new ImportModelCommand()}) {
            Run r = run(cmd, "--help");
            assertEquals(0, r.code());
            CommandLine.Model.CommandSpec spec = new CommandLine(cmd).getCommandSpec();
            String flat = r.out().replaceAll("\\s+", ""); // help text wraps anywhere
            for (OptionSpec o : spec.options()) {
                String shown = o.negatable() ? "--[no-]" + o.longestName().substring(2) : o.longestName();
                assertTrue(r.out().contains(shown), shown + " missing from --help of " + spec.name());
                if (o.defaultValue() != null) {
                    assertTrue(flat.contains("default:" + o.defaultValue().replaceAll("\\s+", "")),
                            o.longestName() + " does not show its default " + o.defaultValue() + " in " + spec.name());
                }
            }
        }
    }

    @Test
    void missingRequiredOptionIsOneLineAndExit2() {
        Run r = run(new TrainCommand(), "--images", "/tmp/x");
        assertEquals(ExitCode.USAGE_ERROR.code(), r.code());
        assertTrue(r.err().startsWith("error: Missing required option: '--output=URI'"), r.err());
        assertEquals(2, r.err().strip().lines().count(), "one error line plus the --help hint: " + r.err());
    }

    @Test
    void badChoiceNamesTheChoices() {
        Run r = run(new TrainCommand(), "--images", "/tmp/x", "--output", "/tmp/o", "--freeze", "layer9", "--summary");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("layer9") && r.err().contains("backbone"), r.err());

        Run arch = run(new PredictCommand(), "--model", "m", "--images", "i", "--output", "o", "--run-date", "28.11.2026");
        assertEquals(2, arch.code());
        assertTrue(arch.err().contains("--run-date must be YYYY-MM-DD"), arch.err());
    }

    @Test
    void invalidNumbersAreRejectedBeforeSparkStarts() {
        Run r = run(new TrainCommand(), "--images", "/tmp/x", "--output", "/tmp/o", "--val-fraction", "1.5");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--val-fraction must be in [0, 1)"), r.err());
        Run both = run(new TrainCommand(), "--images", "/tmp/x", "--manifest", "/tmp/m.csv", "--output", "/tmp/o");
        assertEquals(2, both.code());
        assertTrue(both.err().contains("mutually exclusive"), both.err());
    }

    @Test
    void defaultsBecomeTheTypedConfiguration() throws Exception {
        TrainCommand cmd = new TrainCommand();
        new CommandLine(cmd).setCaseInsensitiveEnumValuesAllowed(true).parseArgs("--images", "/data", "--output", "/runs",
                "--run-name", "r1", "--optimizer", "adam");
        cmd.validate();
        var c = cmd.config();
        assertEquals("resnet18", c.arch().cliName());
        assertEquals("layer2", c.freeze().cliName());
        assertEquals(224, c.preprocessing().cropSize());
        assertEquals(256, c.preprocessing().resizeSize());
        assertEquals(16, c.master().batchSizePerWorker());
        assertEquals(org.sparktransfer.train.OptimizerKind.ADAM, c.optimizer());
        assertEquals("r1", c.runName());
    }

    /** --summary lists the ImageFolder's classes as training does and sizes the head to them; nothing is trained. */
    @Test
    void summarySizesTheHeadToTheDataWithoutSpark(@TempDir Path dir) {
        TestImages.folder().classes("cat", "dog", "fox").perClass(1).writeTo(dir.resolve("images"));
        java.nio.file.Path out = dir.resolve("runs");
        Run r = run(new TrainCommand(), "--images", dir.resolve("images").toString(), "--output", out.toString(),
                "--summary", "--freeze", "backbone");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("3 classes: cat, dog, fox"), r.out());
        assertTrue(r.out().contains("Total params: 11,178,051"), r.out());
        assertTrue(r.out().contains("Trainable params: 1,539"), "3-class head trainable with the backbone frozen: " + r.out());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("fc ") && l.contains("[-1, 3]")), "fc outputs 3 classes: " + r.out());
        assertFalse(Files.exists(out), "--summary writes no run");

        Run none = run(new TrainCommand(), "--images", dir.resolve("missing").toString(), "--output", out.toString(), "--summary");
        assertEquals(2, none.code());
        assertTrue(none.err().contains("image folder does not exist"), none.err());
    }
}
