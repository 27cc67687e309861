// A tiny unbounded, checkpointing streaming job for the end-to-end test: numbers, slowed down so it
// idles, into a sink that discards them. Keeps a task on a slot until it is cancelled.
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

public class TickJob {
    public static void main(String[] args) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        // Checkpoints every 2 s: the rollout waits for one after each batch, and a job that is lost
        // is named with its last completed checkpoint (what the operator resubmits from).
        env.enableCheckpointing(2000);
        env.fromSequence(0, Long.MAX_VALUE).map(new Slow()).sinkTo(new DiscardingSink<>());
        env.execute(args.length > 0 ? args[0] : "flinkops-e2e-tick");
    }

    public static class Slow implements MapFunction<Long, Long> {
        @Override
        public Long map(Long value) throws Exception {
            Thread.sleep(50);
            return value;
        }
    }
}
