// Package bench owns `parklot-worker bench`: the load benchmark of issue 7.
// It drives a workload of sleep tasks through the Parklot API (or through
// two baselines without Parklot's coordination: bare workflows, and a task
// queue whose worker caps concurrent activities), reads every task's own
// timestamps back, and reports throughput, latencies, capacity violations,
// lost and duplicated tasks, and what the pool managers' histories say about
// where the time went.
//
// It measures the scheduler and must not change it: it imports workflows
// for names and payloads only, and never registers Parklot's workflows
// itself (the node does).
package bench
