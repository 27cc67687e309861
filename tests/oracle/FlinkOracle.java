// Test oracle: asks real Flink (the jars on the classpath) what its start scripts would compute.
//
// One long-running JVM per Flink version. Requests arrive on stdin, answers leave on the original
// stdout; System.out is pointed at stderr before any Flink class loads, so Flink's logging can never
// corrupt the protocol.
//
// Framing, both directions: int32 frame length in bytes, int32 count, then count x (int32 byte
// length, UTF-8 bytes); big-endian.
// Keys and values may hold any character (newlines, '#', ':', quotes) because nothing is delimited.
//
// Requests:
//   ["hello"]                          -> ["ok", "flink_version", v, "java_version", v]
//   ["memory", process, k1, v1, ...]   -> ["ok", "valid", "true"|"false", name, value, ...]
//   ["params", process, k1, v1, ...]   -> the same without the sizes (BashJavaUtils only; for benchmarks)
//   ["memory-dir", process, confDir]   -> as "memory", the Configuration loaded from a directory by
//                                         FlinkConfigLoader (--configDir) as the start scripts do: typed
//                                         YAML values (numbers, booleans) stay typed, as in Flink
//   ["load", confDir]                  -> ["ok", "loaded", "true"|"false", name, value, ...]
// Any failure of the harness itself answers ["harness-error", message]; the driver raises on it.
//
// "memory" does exactly what BashJavaUtils GET_TM_RESOURCE_PARAMS / GET_JM_RESOURCE_PARAMS do after
// FlinkConfigLoader has built the Configuration: it calls BashJavaUtils' own getTmResourceParams /
// getJmResourceParams reflectively (their bodies differ between 1.x and 2.x), so the JVM-parameter and
// dynamic-property strings are the ones the scripts would print. The component sizes come from a
// second, mirrored derivation of the process spec, and the harness checks that this mirror prints the
// very same two strings, so a mirror that drifts from BashJavaUtils fails loudly instead of lying.

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.configuration.JobManagerOptions;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessSpec;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessUtils;
import org.apache.flink.runtime.jobmanager.JobManagerProcessSpec;
import org.apache.flink.runtime.jobmanager.JobManagerProcessUtils;
import org.apache.flink.runtime.util.EnvironmentInformation;
import org.apache.flink.runtime.util.bash.BashJavaUtils;
import org.apache.flink.runtime.util.bash.FlinkConfigLoader;
import org.apache.flink.runtime.util.config.memory.ProcessMemoryUtils;
import org.apache.flink.runtime.util.config.memory.jobmanager.JobManagerFlinkMemory;
import org.apache.flink.runtime.util.config.memory.taskmanager.TaskExecutorFlinkMemory;

public final class FlinkOracle {
    private static final int MAX_FRAME_STRINGS = 1 << 20;
    private static final int MAX_STRING_BYTES = 64 << 20;

    private final Method bashTm;
    private final Method bashJm;
    // 1.x only: BashJavaUtils maps taskmanager.heap.size / .mb (and FLINK_TM_HEAP) onto flink.size.
    private final Method tmLegacyHeap;
    // 1.x: processSpecFromConfigWithNewOptionToInterpretLegacyHeap; 2.x: processSpecFromConfig.
    private final Method jmSpec;
    private final boolean jmSpecTakesLegacyOption;
    // 1.19/1.20 keep a static "standard YAML" flag that loading a directory flips; memory requests
    // must not depend on which directory was loaded before, so it is restored after every load.
    private final Method getStandardYaml;
    private final Method setStandardYaml;
    private final boolean initialStandardYaml;

    private FlinkOracle() throws Exception {
        bashTm = BashJavaUtils.class.getDeclaredMethod("getTmResourceParams", Configuration.class);
        bashTm.setAccessible(true);
        bashJm = BashJavaUtils.class.getDeclaredMethod("getJmResourceParams", Configuration.class);
        bashJm.setAccessible(true);
        tmLegacyHeap = findMethod(TaskExecutorProcessUtils.class,
                "getConfigurationMapLegacyTaskManagerHeapSizeToConfigOption", Configuration.class, ConfigOption.class);
        Method legacyJm = findMethod(JobManagerProcessUtils.class,
                "processSpecFromConfigWithNewOptionToInterpretLegacyHeap", Configuration.class, ConfigOption.class);
        if (legacyJm != null) {
            jmSpec = legacyJm;
            jmSpecTakesLegacyOption = true;
        } else {
            jmSpec = JobManagerProcessUtils.class.getDeclaredMethod("processSpecFromConfig", Configuration.class);
            jmSpec.setAccessible(true);
            jmSpecTakesLegacyOption = false;
        }
        getStandardYaml = findMethod(GlobalConfiguration.class, "isStandardYaml");
        setStandardYaml = findMethod(GlobalConfiguration.class, "setStandardYaml", boolean.class);
        initialStandardYaml = getStandardYaml != null && (Boolean) getStandardYaml.invoke(null);
    }

    private static Method findMethod(Class<?> cls, String name, Class<?>... types) {
        try {
            Method m = cls.getDeclaredMethod(name, types);
            m.setAccessible(true);
            return m;
        } catch (NoSuchMethodException e) {
            return null;
        }
    }

    public static void main(String[] args) throws Exception {
        // Keep the real stdout for the protocol; everything else printed goes to stderr.
        DataOutputStream out = new DataOutputStream(
                new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16));
        System.setOut(System.err);
        DataInputStream in = new DataInputStream(new BufferedInputStream(System.in, 1 << 16));

        // The legacy heap variables are read from the environment by Flink 1.x; tests must not see them.
        for (String env : new String[] {"FLINK_TM_HEAP", "FLINK_JM_HEAP"}) {
            if (System.getenv(env) != null) {
                System.err.println("FlinkOracle: refusing to run with " + env + " set in the environment");
                System.exit(2);
            }
        }

        FlinkOracle oracle = new FlinkOracle();
        while (true) {
            List<String> request;
            try {
                request = readFrame(in);
            } catch (EOFException e) {
                break;
            }
            List<String> response;
            try {
                response = oracle.handle(request);
            } catch (Throwable t) {
                response = new ArrayList<>();
                response.add("harness-error");
                response.add(stackTrace(t));
            }
            writeFrame(out, response);
            // Flush only when no request is waiting: pipelined batches go out in large writes.
            if (in.available() == 0) {
                out.flush();
            }
        }
        out.flush();
    }

    private List<String> handle(List<String> request) throws Exception {
        if (request.isEmpty()) {
            throw new IllegalArgumentException("empty request");
        }
        switch (request.get(0)) {
            case "hello":
                return List.of("ok", "flink_version", EnvironmentInformation.getVersion(),
                        "java_version", System.getProperty("java.version"));
            case "memory":
                return memory(request, () -> configuration(request, 2), true);
            case "params":
                return memory(request, () -> configuration(request, 2), false);
            case "memory-dir":
                if (request.size() != 3) {
                    throw new IllegalArgumentException("memory-dir needs a process and a directory");
                }
                try {
                    return memory(request, () -> FlinkConfigLoader.loadConfiguration(
                            new String[] {"--configDir", request.get(2)}), true);
                } finally {
                    restoreStandardYaml();
                }
            case "load":
                return load(request);
            default:
                throw new IllegalArgumentException("unknown request " + request.get(0));
        }
    }

    private static Configuration configuration(List<String> request, int from) {
        if ((request.size() - from) % 2 != 0) {
            throw new IllegalArgumentException("odd number of key/value strings");
        }
        // As the loader would: every key stored as a string (FlinkConfigLoader -> GlobalConfiguration).
        Configuration config = new Configuration();
        for (int i = from; i < request.size(); i += 2) {
            config.setString(request.get(i), request.get(i + 1));
        }
        return config;
    }

    /** Where a memory request's Configuration comes from; each call builds a fresh one. */
    private interface ConfigSource {
        Configuration get() throws Exception;
    }

    private void restoreStandardYaml() throws Exception {
        if (setStandardYaml != null) {
            setStandardYaml.invoke(null, initialStandardYaml);
        }
    }

    private List<String> memory(List<String> request, ConfigSource source, boolean withSizes) throws Exception {
        if (request.size() < 2) {
            throw new IllegalArgumentException("memory needs a process");
        }
        String process = request.get(1);
        boolean tm;
        if (process.equals("taskmanager")) {
            tm = true;
        } else if (process.equals("jobmanager")) {
            tm = false;
        } else {
            throw new IllegalArgumentException("unknown process " + process);
        }

        List<String> result = new ArrayList<>();
        result.add("ok");
        List<String> printed;
        try {
            Configuration loaded;
            try {
                loaded = source.get();
            } catch (Exception e) {
                // FlinkConfigLoader failing makes BashJavaUtils, and the start script, fail too.
                result.add("valid");
                result.add("false");
                addChain(result, e);
                return result;
            }
            Object value = (tm ? bashTm : bashJm).invoke(null, loaded);
            @SuppressWarnings("unchecked")
            List<String> list = (List<String>) value;
            printed = list;
        } catch (InvocationTargetException e) {
            // Whatever BashJavaUtils throws makes the start script fail: the config is rejected.
            result.add("valid");
            result.add("false");
            addChain(result, e.getCause());
            return result;
        }
        if (printed.size() != 2) {
            throw new IllegalStateException("BashJavaUtils returned " + printed.size() + " lines: " + printed);
        }
        result.add("valid");
        result.add("true");
        result.add("jvm_params");
        result.add(printed.get(0));
        result.add("dynamic_properties");
        result.add(printed.get(1));
        if (!withSizes) {
            return result;
        }

        // The mirror: same steps as this version's BashJavaUtils, keeping the spec for its sizes.
        Configuration config = source.get();
        String jvm;
        String dynamic;
        if (tm) {
            if (tmLegacyHeap != null) {
                config = (Configuration) tmLegacyHeap.invoke(null, config, TaskManagerOptions.TOTAL_FLINK_MEMORY);
            }
            TaskExecutorProcessSpec spec = TaskExecutorProcessUtils.processSpecFromConfig(config);
            TaskExecutorFlinkMemory fm = spec.getFlinkMemory();
            size(result, "framework_heap", fm.getFrameworkHeap());
            size(result, "task_heap", fm.getTaskHeap());
            size(result, "framework_off_heap", fm.getFrameworkOffHeap());
            size(result, "task_off_heap", fm.getTaskOffHeap());
            size(result, "managed", fm.getManaged());
            size(result, "network", fm.getNetwork());
            size(result, "jvm_metaspace", spec.getJvmMetaspaceSize());
            size(result, "jvm_overhead", spec.getJvmOverheadSize());
            size(result, "total_flink", spec.getTotalFlinkMemorySize());
            size(result, "total_process", spec.getTotalProcessMemorySize());
            jvm = ProcessMemoryUtils.generateJvmParametersStr(spec);
            dynamic = TaskExecutorProcessUtils.generateDynamicConfigsStr(spec);
        } else {
            JobManagerProcessSpec spec = (JobManagerProcessSpec) (jmSpecTakesLegacyOption
                    ? jmSpec.invoke(null, config, JobManagerOptions.JVM_HEAP_MEMORY)
                    : jmSpec.invoke(null, config));
            JobManagerFlinkMemory fm = spec.getFlinkMemory();
            size(result, "heap", fm.getJvmHeapMemorySize());
            size(result, "off_heap", fm.getJvmDirectMemorySize());
            size(result, "jvm_metaspace", spec.getJvmMetaspaceSize());
            size(result, "jvm_overhead", spec.getJvmOverheadSize());
            size(result, "total_flink", spec.getTotalFlinkMemorySize());
            size(result, "total_process", spec.getTotalProcessMemorySize());
            jvm = JobManagerProcessUtils.generateJvmParametersStr(spec, config);
            dynamic = JobManagerProcessUtils.generateDynamicConfigsStr(spec);
        }
        if (!jvm.equals(printed.get(0)) || !dynamic.equals(printed.get(1))) {
            throw new IllegalStateException("harness mirror disagrees with BashJavaUtils: "
                    + printed + " vs [" + jvm + ", " + dynamic + "]");
        }
        return result;
    }

    private static void size(List<String> result, String name, MemorySize size) {
        result.add("size:" + name);
        result.add(Long.toString(size.getBytes()));
    }

    private static void addChain(List<String> result, Throwable top) {
        Map<Throwable, Boolean> seen = new IdentityHashMap<>();
        for (Throwable t = top; t != null && !seen.containsKey(t); t = t.getCause()) {
            seen.put(t, Boolean.TRUE);
            String message = t.getMessage();
            result.add("error");
            result.add(message != null ? message : t.getClass().getSimpleName());
            result.add("error_class");
            result.add(t.getClass().getName());
        }
    }

    private List<String> load(List<String> request) throws Exception {
        if (request.size() != 2) {
            throw new IllegalArgumentException("load needs exactly one directory");
        }
        List<String> result = new ArrayList<>();
        result.add("ok");
        try {
            Configuration config;
            try {
                config = GlobalConfiguration.loadConfiguration(request.get(1));
            } catch (Exception | Error e) {
                result.add("loaded");
                result.add("false");
                addChain(result, e);
                return result;
            }
            result.add("loaded");
            result.add("true");
            if (getStandardYaml != null) {
                result.add("standard_yaml");
                result.add(String.valueOf(getStandardYaml.invoke(null)));
            }
            for (Map.Entry<String, String> e : new TreeMap<>(config.toMap()).entrySet()) {
                result.add("config:" + e.getKey());
                result.add(String.valueOf(e.getValue()));
            }
            return result;
        } finally {
            restoreStandardYaml();
        }
    }

    private static List<String> readFrame(DataInputStream in) throws IOException {
        int total = in.readInt();
        if (total < 4 || total > MAX_STRING_BYTES) {
            throw new IOException("bad frame length " + total);
        }
        int count = in.readInt();
        if (count < 0 || count > MAX_FRAME_STRINGS) {
            throw new IOException("bad frame count " + count);
        }
        List<String> strings = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int length = in.readInt();
            if (length < 0 || length > MAX_STRING_BYTES) {
                throw new IOException("bad string length " + length);
            }
            byte[] bytes = new byte[length];
            in.readFully(bytes);
            strings.add(new String(bytes, StandardCharsets.UTF_8));
        }
        return strings;
    }

    private static void writeFrame(DataOutputStream out, List<String> strings) throws IOException {
        byte[][] encoded = new byte[strings.size()][];
        int total = 4;
        for (int i = 0; i < encoded.length; i++) {
            encoded[i] = strings.get(i).getBytes(StandardCharsets.UTF_8);
            total += 4 + encoded[i].length;
        }
        out.writeInt(total);
        out.writeInt(encoded.length);
        for (byte[] bytes : encoded) {
            out.writeInt(bytes.length);
            out.write(bytes);
        }
    }

    private static String stackTrace(Throwable t) {
        StringWriter sw = new StringWriter();
        t.printStackTrace(new PrintWriter(sw));
        return sw.toString();
    }
}
