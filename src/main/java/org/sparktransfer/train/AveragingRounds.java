package org.sparktransfer.train;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How many minibatches each worker fits between two parameter averagings (dl4j-spark's averaging
 * frequency, {@code --averaging-frequency}).
 *
 * <p>A value the user set is used as given. Left at auto (0): with a single worker on a local master
 * (driver and worker in one JVM, a failed task fails the job) an epoch is one round, because averaging one
 * worker's parameters and updater state with nothing else is the identity and a round boundary there buys
 * no retry either; every round costs its Spark jobs (the split's count and repartition, the aggregation),
 * the result's copies and the broadcast of the averaged network, the round-start collection and a slower
 * first step (about 0.5 s per round for ResNet-18 at 224 px on two cores, the README's profile). Anywhere
 * else, {@link #DEFAULT} minibatches: several workers need the averaging, and on a cluster a round is also
 * what a lost executor's task repeats. {@code local[N,F]} with retries counts as a cluster here.
 */
final class AveragingRounds {
    /** Minibatches per round where rounds are needed: DL4J's suggested range is 5 to 10. */
    static final int DEFAULT = 5;

    /** {@code local}, {@code local[N]} or {@code local[N,F]}; group 1 is F where given. */
    private static final Pattern LOCAL = Pattern.compile("local(?:\\[[^,\\]]+(?:,\\s*(\\d+)\\s*)?])?");

    private AveragingRounds() {
    }

    /**
     * @param setting          {@code --averaging-frequency}: at least 1, or 0 for auto
     * @param workers          the training master's workers
     * @param master           Spark's master URL
     * @param epochMinibatches the minibatches one epoch has, or an upper bound (dl4j-spark splits an epoch into
     *                         rounds of workers x frequency minibatches: below the real number, an epoch of one
     *                         worker would take two rounds)
     */
    static int minibatchesPerRound(int setting, int workers, String master, long epochMinibatches) {
        if (setting > 0) {
            return setting;
        }
        if (workers == 1 && localWithoutRetries(master)) {
            return (int) Math.max(1, Math.min(epochMinibatches, Integer.MAX_VALUE));
        }
        return DEFAULT;
    }

    /** {@code local}, {@code local[N]}, {@code local[*]}, or {@code local[N,1]}: Spark gives a failed task no second attempt. */
    static boolean localWithoutRetries(String master) {
        Matcher m = LOCAL.matcher(master);
        return m.matches() && (m.group(1) == null || Integer.parseInt(m.group(1)) <= 1);
    }

    /** An upper bound of an epoch's minibatches when each of {@code partitions} tasks groups its own rows. */
    static long minibatchBound(long rows, int batchSize, int partitions) {
        return (rows + batchSize - 1) / batchSize + Math.max(0, partitions - 1);
    }
}
