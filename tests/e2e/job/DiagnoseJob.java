// Small jobs that make a Flink cluster fail in one known way each, for tests/e2e/test_diagnose_e2e.py and
// tests/e2e/diagnose_capture.py. Built with javac against flink-dist only (no connectors).
//   network P      P sources, all-to-all to P slow maps: needs network buffers for P x P channels
//   heap MIB       each map holds MIB MiB on its heap, then idles (a TaskManager heap too small fails)
//   direct MIB     each map holds MIB MiB of direct buffers, then idles (-XX:MaxDirectMemorySize too small)
//   metaspace      each map defines proxy classes in fresh class loaders until the metaspace is full
//   sort           a bounded batch job whose keyed reduce sorts in managed memory
//   slots P        the tick job at parallelism P (more than the cluster's slots)
//   rocksdb        keyed state in RocksDB (state.backend.type: rocksdb), slowly
//   jm-heap        a source whose deserialization fills the heap: the JobManager deserializes it first
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.Serializable;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.connector.source.lib.NumberSequenceSource;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

public class DiagnoseJob {
    public static void main(String[] args) throws Exception {
        String mode = args[0];
        int arg = args.length > 1 ? Integer.parseInt(args[1]) : 1;
        String name = args.length > 2 ? args[2] : "flinkops-diagnose-" + mode;
        Configuration conf = new Configuration();
        if (mode.equals("rocksdb")) {
            conf.setString("state.backend.type", "rocksdb");
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        switch (mode) {
            case "network":
                env.setParallelism(arg);
                env.fromSequence(0, Long.MAX_VALUE).rebalance().map(new Slow()).sinkTo(new DiscardingSink<>());
                break;
            case "heap":
            case "direct":
            case "metaspace":
                env.setParallelism(1);
                env.fromSequence(0, Long.MAX_VALUE).map(new Hog(mode, arg)).sinkTo(new DiscardingSink<>());
                break;
            case "sort":
                env.setRuntimeMode(RuntimeExecutionMode.BATCH);
                env.setParallelism(1);
                env.fromSequence(0, 2_000_000).keyBy(v -> v % 1000).reduce(Long::sum).sinkTo(new DiscardingSink<>());
                break;
            case "rocksdb":
                env.setParallelism(1);
                env.fromSequence(0, Long.MAX_VALUE).keyBy(v -> v % 100).map(new Count())
                        .sinkTo(new DiscardingSink<>());
                break;
            case "jm-heap":
                env.setParallelism(1);
                env.fromSource(new HeavySource(), WatermarkStrategy.noWatermarks(), "heavy").map(new Slow())
                        .sinkTo(new DiscardingSink<>());
                break;
            case "slots":
                env.setParallelism(arg);
                env.fromSequence(0, Long.MAX_VALUE).map(new Slow()).sinkTo(new DiscardingSink<>());
                break;
            default:
                throw new IllegalArgumentException("unknown mode " + mode);
        }
        env.execute(name);
    }

    public static class Slow implements MapFunction<Long, Long> {
        @Override
        public Long map(Long value) throws Exception {
            Thread.sleep(50);
            return value;
        }
    }

    /** The sequence source, carrying a field that fills the heap of whoever deserializes it. */
    public static class HeavySource extends NumberSequenceSource {
        private final Heavy heavy = new Heavy();

        public HeavySource() {
            super(0, Long.MAX_VALUE);
        }
    }

    public static class Heavy implements Serializable {
        private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
            in.defaultReadObject();
            List<byte[]> held = new ArrayList<>();
            while (true) {
                held.add(new byte[1 << 20]);
            }
        }
    }

    /** Counts per key in keyed state (RocksDB with state.backend.type: rocksdb). */
    public static class Count extends RichMapFunction<Long, Long> {
        private transient ValueState<Long> count;

        @Override
        public void open(OpenContext context) {
            count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Long.class));
        }

        @Override
        public Long map(Long value) throws Exception {
            Thread.sleep(50);
            Long seen = count.value();
            count.update(seen == null ? 1L : seen + 1);
            return value;
        }
    }

    /** Takes its memory once, when the task opens, keeps it, then passes numbers on slowly. */
    public static class Hog extends RichMapFunction<Long, Long> {
        private final String mode;
        private final int mib;
        private transient List<Object> held;

        public Hog(String mode, int mib) {
            this.mode = mode;
            this.mib = mib;
        }

        @Override
        public void open(OpenContext context) {
            held = new ArrayList<>();
            if (mode.equals("metaspace")) {
                InvocationHandler handler = (proxy, method, margs) -> null;
                while (true) {  // every loader defines its own proxy class: metaspace grows until it is full
                    ClassLoader loader = new ClassLoader(Hog.class.getClassLoader()) {};
                    held.add(Proxy.newProxyInstance(loader, new Class<?>[] {Runnable.class}, handler));
                }
            }
            for (int i = 0; i < mib; i++) {
                held.add(mode.equals("direct") ? ByteBuffer.allocateDirect(1 << 20) : new byte[1 << 20]);
            }
        }

        @Override
        public Long map(Long value) throws Exception {
            Thread.sleep(50);
            return value;
        }
    }
}
