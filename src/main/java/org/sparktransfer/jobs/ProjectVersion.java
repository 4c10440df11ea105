package org.sparktransfer.jobs;

import picocli.CommandLine.IVersionProvider;

/** The project version from the jar manifest (or "dev" when run from classes). */
public final class ProjectVersion implements IVersionProvider {
    public static String get() {
        String v = ProjectVersion.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    @Override
    public String[] getVersion() {
        return new String[] {"spark-transfer " + get()};
    }
}
