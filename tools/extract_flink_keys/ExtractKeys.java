// Lists every config option a Flink release defines: each public static ConfigOption field of every
// Flink class in its flink-dist.jar, read by reflection from the jar itself.
//
// Usage: java ExtractKeys <out-dir> <label>=<flink-dist.jar> [<label>=<jar> ...]
// Writes <out-dir>/<label>.jsonl, one option per line:
//   {"key", "class", "field", "type", "list", "default", "deprecated": [...], "fallback": [...],
//    "suffix_of", "field_deprecated"}
// "type" is ConfigOption.getClazz()'s simple name ("Enum:<Name>" for enums); "default" is the default
// value as a string in Flink's legacy (flink-conf.yaml) notation, or null when there is none.
//
// Compiled without Flink on the classpath: every Flink class is reached by reflection through one
// class loader per jar, so one JVM serves all releases. Only classes whose constant pool holds the
// public static ConfigOption field (found by reading the class file's field table) are loaded.

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.Writer;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

public final class ExtractKeys {
    private static final byte[] DESCRIPTOR =
            "Lorg/apache/flink/configuration/ConfigOption;".getBytes(StandardCharsets.US_ASCII);
    private static final String OPTION_CLASS = "org.apache.flink.configuration.ConfigOption";

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: ExtractKeys <out-dir> <label>=<flink-dist.jar>...");
            System.exit(2);
        }
        // Flink's static initialisers may log to stdout; nothing of ours goes there.
        PrintStream err = System.err;
        System.setOut(err);
        Path outDir = Paths.get(args[0]);
        Files.createDirectories(outDir);
        ExecutorService pool = Executors.newFixedThreadPool(
                Math.max(1, Math.min(args.length - 1, Runtime.getRuntime().availableProcessors())));
        List<Future<String>> jobs = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            String spec = args[i];
            int eq = spec.indexOf('=');
            String label = spec.substring(0, eq);
            Path jar = Paths.get(spec.substring(eq + 1));
            jobs.add(pool.submit(() -> extract(label, jar, outDir.resolve(label + ".jsonl"))));
        }
        int failed = 0;
        for (Future<String> job : jobs) {
            try {
                err.println(job.get());
            } catch (Exception e) {
                failed++;
                e.printStackTrace(err);
            }
        }
        pool.shutdown();
        System.exit(failed == 0 ? 0 : 1);
    }

    private static String extract(String label, Path jar, Path out) throws Exception {
        long start = System.nanoTime();
        int scanned = 0;
        int loaded = 0;
        int options = 0;
        List<String> unloadable = new ArrayList<>();
        StringBuilder json = new StringBuilder(1 << 20);
        try (ZipFile zip = new ZipFile(jar.toFile());
                URLClassLoader loader = new URLClassLoader(
                        new URL[] {jar.toUri().toURL()}, ClassLoader.getPlatformClassLoader())) {
            Class<?> optionClass = Class.forName(OPTION_CLASS, false, loader);
            Method getClazz = optionClass.getDeclaredMethod("getClazz");
            getClazz.setAccessible(true);
            Method isList = optionClass.getDeclaredMethod("isList");
            isList.setAccessible(true);
            Method formatDuration = Class.forName("org.apache.flink.util.TimeUtils", false, loader)
                    .getMethod("formatWithHighestUnit", java.time.Duration.class);
            Enumeration<? extends ZipEntry> entries = zip.entries();
            List<String> names = new ArrayList<>();
            while (entries.hasMoreElements()) {
                ZipEntry entry = entries.nextElement();
                String name = entry.getName();
                // Flink's own classes only; bundled third-party code lives under .../shaded/.
                if (!name.startsWith("org/apache/flink/") || name.contains("/shaded/")
                        || !name.endsWith(".class")) {
                    continue;
                }
                scanned++;
                byte[] bytes = read(zip, entry);
                if (contains(bytes, DESCRIPTOR) && declaresOptionField(bytes)) {
                    names.add(name);
                }
            }
            names.sort(null);
            for (String name : names) {
                String className = name.substring(0, name.length() - 6).replace('/', '.');
                Field[] fields;
                try {
                    fields = Class.forName(className, false, loader).getDeclaredFields();
                } catch (Throwable t) {
                    unloadable.add(className + " (" + t + ")");
                    continue;
                }
                loaded++;
                for (Field field : fields) {
                    int mod = field.getModifiers();
                    if (!Modifier.isStatic(mod) || !Modifier.isPublic(mod)
                            || !field.getType().getName().equals(OPTION_CLASS)) {
                        continue;
                    }
                    Object option;
                    try {
                        field.setAccessible(true);
                        option = field.get(null);
                    } catch (Throwable t) {
                        unloadable.add(className + "." + field.getName() + " (" + t + ")");
                        continue;
                    }
                    if (option == null) {
                        continue;
                    }
                    options++;
                    record(json, option, className, field, getClazz, isList, formatDuration);
                }
            }
        }
        try (Writer w = new OutputStreamWriter(Files.newOutputStream(out), StandardCharsets.UTF_8)) {
            w.write(json.toString());
        }
        StringBuilder report = new StringBuilder();
        report.append(label).append(": ").append(options).append(" options from ").append(loaded)
                .append(" classes (").append(scanned).append(" scanned) in ")
                .append((System.nanoTime() - start) / 1_000_000).append(" ms");
        for (String u : unloadable) {
            report.append("\n  not loadable: ").append(u);
        }
        return report.toString();
    }

    private static void record(StringBuilder json, Object option, String className, Field field,
            Method getClazz, Method isList, Method formatDuration) throws Exception {
        Class<?> cls = option.getClass();
        String key = (String) cls.getMethod("key").invoke(option);
        Class<?> clazz = (Class<?>) getClazz.invoke(option);
        boolean list = (Boolean) isList.invoke(option);
        boolean hasDefault = (Boolean) cls.getMethod("hasDefaultValue").invoke(option);
        Object dflt = hasDefault ? cls.getMethod("defaultValue").invoke(option) : null;
        List<String> deprecated = new ArrayList<>();
        List<String> fallback = new ArrayList<>();
        for (Object fk : (Iterable<?>) cls.getMethod("fallbackKeys").invoke(option)) {
            Class<?> fkc = fk.getClass();
            String fkKey = (String) fkc.getMethod("getKey").invoke(fk);
            boolean fkDeprecated = (Boolean) fkc.getMethod("isDeprecated").invoke(fk);
            (fkDeprecated ? deprecated : fallback).add(fkKey);
        }
        // Options documented as suffixes ("factory.class" of "metrics.reporter.<name>") carry the prefix
        // in Flink's @Documentation.SuffixOption; their key() alone is not what users write.
        String suffixOf = null;
        for (java.lang.annotation.Annotation a : field.getAnnotations()) {
            if (a.annotationType().getName().equals("org.apache.flink.annotation.docs.Documentation$SuffixOption")) {
                suffixOf = (String) a.annotationType().getMethod("value").invoke(a);
            }
        }
        String type = clazz.isEnum() ? "Enum:" + clazz.getSimpleName() : clazz.getSimpleName();
        json.append("{\"key\":").append(quote(key))
                .append(",\"class\":").append(quote(className))
                .append(",\"field\":").append(quote(field.getName()))
                .append(",\"type\":").append(quote(type))
                .append(",\"list\":").append(list)
                .append(",\"default\":").append(dflt == null ? "null" : quote(asString(dflt, formatDuration)))
                .append(",\"deprecated\":").append(quoteAll(deprecated))
                .append(",\"fallback\":").append(quoteAll(fallback))
                .append(",\"suffix_of\":").append(suffixOf == null ? "null" : quote(suffixOf))
                .append(",\"field_deprecated\":").append(field.isAnnotationPresent(Deprecated.class))
                .append("}\n");
    }

    // One notation for every release (Flink's legacy flink-conf.yaml one): durations with their
    // highest unit, sizes as MemorySize prints them, lists joined with ';', maps as k:v joined with
    // ','. ConfigurationUtils.convertToString itself changed between releases (2.x prints YAML), so
    // it cannot be used: the same default would look changed.
    private static String asString(Object value, Method formatDuration) throws Exception {
        if (value instanceof java.time.Duration) {
            return (String) formatDuration.invoke(null, value);
        }
        if (value instanceof List) {
            StringBuilder sb = new StringBuilder();
            for (Object item : (List<?>) value) {
                if (sb.length() > 0) {
                    sb.append(';');
                }
                sb.append(asString(item, formatDuration));
            }
            return sb.toString();
        }
        if (value instanceof Map) {
            StringBuilder sb = new StringBuilder();
            for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
                if (sb.length() > 0) {
                    sb.append(',');
                }
                sb.append(asString(e.getKey(), formatDuration)).append(':')
                        .append(asString(e.getValue(), formatDuration));
            }
            return sb.toString();
        }
        return String.valueOf(value);
    }

    // Reads just enough of a class file (JVMS 4.1) to tell whether it declares a public static field
    // of type ConfigOption: classes that merely use options are never loaded.
    private static boolean declaresOptionField(byte[] b) {
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(b);
        if (buf.getInt() != 0xCAFEBABE) {
            return false;
        }
        buf.getShort();
        buf.getShort();
        int count = buf.getShort() & 0xFFFF;
        String[] utf8 = new String[count];
        for (int i = 1; i < count; i++) {
            int tag = buf.get() & 0xFF;
            switch (tag) {
                case 1:
                    int len = buf.getShort() & 0xFFFF;
                    utf8[i] = new String(b, buf.position(), len, StandardCharsets.UTF_8);
                    buf.position(buf.position() + len);
                    break;
                case 5:
                case 6:
                    buf.position(buf.position() + 8);
                    i++; // longs and doubles take two constant-pool slots
                    break;
                case 3:
                case 4:
                case 9:
                case 10:
                case 11:
                case 12:
                case 17:
                case 18:
                    buf.position(buf.position() + 4);
                    break;
                case 15:
                    buf.position(buf.position() + 3);
                    break;
                case 7:
                case 8:
                case 16:
                case 19:
                case 20:
                    buf.position(buf.position() + 2);
                    break;
                default:
                    throw new IllegalStateException("unknown constant pool tag " + tag);
            }
        }
        buf.position(buf.position() + 6); // access_flags, this_class, super_class
        int interfaces = buf.getShort() & 0xFFFF;
        buf.position(buf.position() + 2 * interfaces);
        int fields = buf.getShort() & 0xFFFF;
        String descriptor = new String(DESCRIPTOR, StandardCharsets.US_ASCII);
        for (int f = 0; f < fields; f++) {
            int access = buf.getShort() & 0xFFFF;
            buf.getShort();
            String desc = utf8[buf.getShort() & 0xFFFF];
            if ((access & (Modifier.PUBLIC | Modifier.STATIC)) == (Modifier.PUBLIC | Modifier.STATIC)
                    && descriptor.equals(desc)) {
                return true;
            }
            int attributes = buf.getShort() & 0xFFFF;
            for (int a = 0; a < attributes; a++) {
                buf.getShort();
                int length = buf.getInt();
                buf.position(buf.position() + length);
            }
        }
        return false;
    }

    private static byte[] read(ZipFile zip, ZipEntry entry) throws IOException {
        try (InputStream in = zip.getInputStream(entry)) {
            ByteArrayOutputStream buf = new ByteArrayOutputStream((int) Math.max(entry.getSize(), 256));
            in.transferTo(buf);
            return buf.toByteArray();
        }
    }

    private static boolean contains(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0, end = hay.length - needle.length; i <= end; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    private static String quoteAll(List<String> items) {
        StringBuilder sb = new StringBuilder("[");
        for (String s : items) {
            if (sb.length() > 1) {
                sb.append(',');
            }
            sb.append(quote(s));
        }
        return sb.append(']').toString();
    }

    private static String quote(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                sb.append('\\').append(c);
            } else if (c < 0x20) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.append('"').toString();
    }
}
