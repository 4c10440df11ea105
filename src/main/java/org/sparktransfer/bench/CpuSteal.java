package org.sparktransfer.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The share of this machine's CPU time that the hypervisor gave to other guests ("steal", from {@code /proc/stat})
 * over an interval. On a shared VM it moves between 0 and 50% within minutes, and a rate measured while it is high
 * is not comparable with one measured while it is low: the benchmarks print it beside each timed run.
 */
final class CpuSteal {
    private final long steal;
    private final long total;

    private CpuSteal(long steal, long total) {
        this.steal = steal;
        this.total = total;
    }

    /** Now; null where /proc/stat is not readable (not Linux). */
    static CpuSteal now() {
        try {
            String cpu = Files.readAllLines(Path.of("/proc/stat")).get(0);
            String[] f = cpu.trim().split("\\s+");
            long total = 0;
            // cpu user nice system idle iowait irq softirq steal [guest guest_nice, already counted in user/nice]
            for (int i = 1; i <= Math.min(8, f.length - 1); i++) {
                total += Long.parseLong(f[i]);
            }
            return new CpuSteal(f.length > 8 ? Long.parseLong(f[8]) : 0, total);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** Stolen share of the CPU time since {@code start}, as "12%", or "n/a". */
    static String since(CpuSteal start) {
        CpuSteal end = now();
        if (start == null || end == null || end.total <= start.total) {
            return "n/a";
        }
        return String.format(Locale.ROOT, "%.0f%%", 100.0 * (end.steal - start.steal) / (end.total - start.total));
    }
}
