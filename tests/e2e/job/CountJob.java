// A keyed, checkpointing streaming job for the savepoint tests: one key counts every number it sees in keyed
// state. Two gauges tell from outside whether state survived a stop with a savepoint and a resubmission:
// flinkopsCount (the count now) and flinkopsFirst (the count the state held when this run saw its first
// number: 0 on a fresh start, the savepoint's count after a restore). Metrics over REST:
// /jobs/<id>/vertices/<vertex>/metrics?get=0.<operator>.flinkopsCount
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

public class CountJob {
    public static void main(String[] args) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.enableCheckpointing(2000);
        // Slowed down at the source (chained to it), so the keyed count downstream never backs up: a barrier
        // reaches it at once and a savepoint takes a moment, not the time to drain full network buffers.
        env.fromSequence(0, Long.MAX_VALUE)
                .map(new Slow()).name("Slow")
                .keyBy(v -> 0L)
                .map(new Count()).name("Count").uid("count")
                .sinkTo(new DiscardingSink<>());
        env.execute(args.length > 0 ? args[0] : "flinkops-e2e-count");
    }

    public static class Count extends RichMapFunction<Long, Long> {
        private transient ValueState<Long> count;
        private transient volatile long latest;
        private transient volatile long first;
        private transient boolean seen;

        @Override
        public void open(OpenContext context) {
            count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Types.LONG));
            latest = -1;
            first = -1;
            getRuntimeContext().getMetricGroup().gauge("flinkopsCount", (Gauge<Long>) () -> latest);
            getRuntimeContext().getMetricGroup().gauge("flinkopsFirst", (Gauge<Long>) () -> first);
        }

        @Override
        public Long map(Long value) throws Exception {
            Long before = count.value();
            long now = (before == null ? 0 : before) + 1;
            if (!seen) {
                seen = true;
                first = now - 1;
            }
            count.update(now);
            latest = now;
            return value;
        }
    }

    public static class Slow extends RichMapFunction<Long, Long> {
        @Override
        public Long map(Long value) throws Exception {
            Thread.sleep(50);
            return value;
        }
    }
}
