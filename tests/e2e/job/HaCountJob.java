// A keyed, checkpointing count for the HA end-to-end test: one key counts the numbers it sees in keyed
// state. Each completed checkpoint appends "ckpt <id> <count>" to the file named by the second argument,
// each restore appends "restored <count>" (the count the state came back with): a count that ever goes back
// below one already checkpointed is lost state.
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;

import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.util.Collector;

public class HaCountJob {
    public static void main(String[] args) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.enableCheckpointing(2000);
        String log = args.length > 1 ? args[1] : "/tmp/flinkops-ha-count.log";
        // Slowed down before the shuffle (chained with the source), so no backlog holds a checkpoint barrier back.
        env.fromSequence(0, Long.MAX_VALUE).map(new Slow()).keyBy(v -> 0L).process(new Count(log))
                .sinkTo(new DiscardingSink<>());
        env.execute(args.length > 0 ? args[0] : "flinkops-e2e-ha-count");
    }

    public static class Slow implements MapFunction<Long, Long> {
        @Override
        public Long map(Long value) throws Exception {
            Thread.sleep(20);
            return value;
        }
    }

    public static class Count extends KeyedProcessFunction<Long, Long, Long>
            implements CheckpointedFunction, CheckpointListener {
        private final String log;
        private transient ValueState<Long> count;
        private transient long seen;
        private transient boolean restored;
        private transient boolean reported;
        private transient Map<Long, Long> pending;

        Count(String log) {
            this.log = log;
        }

        private void append(String line) {
            try {
                Files.write(Paths.get(log), (line + "\n").getBytes(StandardCharsets.UTF_8),
                        StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        }

        @Override
        public void processElement(Long value, Context ctx, Collector<Long> out) throws Exception {
            if (count == null) {
                count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Long.class));
            }
            long now = count.value() == null ? 0L : count.value();
            if (!reported) {
                reported = true;
                if (restored) {
                    append("restored " + now);
                }
            }
            now += 1;
            count.update(now);
            seen = now;
            out.collect(now);
        }

        @Override
        public void snapshotState(FunctionSnapshotContext context) {
            pending.put(context.getCheckpointId(), seen);
        }

        @Override
        public void initializeState(FunctionInitializationContext context) {
            pending = new HashMap<>();
            restored = context.isRestored();
        }

        @Override
        public void notifyCheckpointComplete(long checkpointId) {
            Long at = pending.remove(checkpointId);
            if (at != null) {
                append("ckpt " + checkpointId + " " + at);
            }
        }
    }
}
