#include "apps/bench/workload.hpp"

namespace topup::bench {

double workload::duration_s() const {
  return rate > 0 ? static_cast<double>(orders) / rate : 0.0;
}

std::optional<workload> workload_named(const std::string& name) {
  workload w;
  w.name = name;
  if (name == "w1") {
    w.loop = loop_kind::closed;
    w.orders = 200000;
    w.outstanding = 256;
    return w;
  }
  if (name == "w2" || name == "w3") {
    w.loop = loop_kind::open;
    w.rate = name == "w2" ? 500 : 200;
    w.orders = static_cast<uint64_t>(w.rate * 60);
    // At a few hundred orders a second, each tick's due orders travel in one message.
    w.batch = 64;
    if (name == "w3") {
      w.kill_at_s = 20;
      w.restart_at_s = 25;
    }
    return w;
  }
  if (name == "w4") {
    // Five times what W2's providers do (1,100 calls/s): refused orders are offered again
    // after the node's retry hint, backing off, until the load ends.
    w.loop = loop_kind::open;
    w.rate = 5500;
    w.orders = static_cast<uint64_t>(w.rate * 60);
    w.batch = 64;
    w.give_up_at_s = w.duration_s();
    return w;
  }
  if (name == "hold") {
    // Submitting is not what is measured: big messages, several in flight.
    w.loop = loop_kind::closed;
    w.orders = 1000000;
    w.batch = 500;
    w.outstanding = 4000;
    return w;
  }
  return std::nullopt;
}

std::string describe_workloads() {
  return "Workloads (bench/README.md, \"The workloads\"):\n"
         "  w1  throughput: 200,000 orders in a closed loop, at most 256 outstanding, sent in\n"
         "      messages of --batch orders; node config config/bench-w1.json (providers\n"
         "      unlimited, 1 ms fixed latency, 100% success). Figures: accepted/s (durable\n"
         "      ack), completed/s, accept latency, completion time p50/p90/p99/max, peak RSS.\n"
         "      --in-process runs the engine inside the bench (no network hop) for comparison.\n"
         "  w2  SLA under faults: open loop, 500 orders/s for 60 s (30,000 orders); node config\n"
         "      config/bench-w2.json (rate limits, lognormal latency, 75/20/5 outcomes, p-cucc\n"
         "      down from 10 s to 40 s after the node starts). Figures: share succeeded and\n"
         "      share terminal within 180 s of accept (1 s grace for orders closed at their\n"
         "      deadline), lost, duplicates (providers' ledgers), completion time, failover.\n"
         "  w3  crash: w2's providers at 200 orders/s for 60 s; the bench SIGKILLs the node at\n"
         "      t=20 s and starts it again at t=25 s on the same files, retrying every\n"
         "      rejected or unanswered submission with its client reference until acknowledged.\n"
         "      Needs --node-binary (the bench owns the node). Figures as w2.\n"
         "      With --provider-sim-binary (required for w3 unless --in-node-providers) the\n"
         "      providers run out of process in topup-provider-sim, started before the node:\n"
         "      its ledger survives the kill and p-cucc's outage counts from the load's start.\n"
         "  w4  overload: w2's providers without the outage (config/bench-w4.json), offered\n"
         "      5x their capacity, 5,500 orders/s for 60 s (330,000 orders); an order refused\n"
         "      (overloaded) is offered again with its client reference no sooner than the\n"
         "      node's retry hint, nor sooner than twice its previous wait (30 s at most), until\n"
         "      the load ends; orders not acknowledged then are given up. Figures: accepted,\n"
         "      refusals by error, given up, shares terminal within 180 s and failed at their\n"
         "      deadline, peak RSS.\n"
         "  hold  a node holding many pending orders (--orders, default 1,000,000) with\n"
         "      config/bench-hold.json (providers that practically never complete): submits\n"
         "      them (batches of 500, 4,000 outstanding), records the node's VmRSS/VmHWM,\n"
         "      SIGKILLs it, restarts it on the same store and measures the time until its\n"
         "      router logged that it recovered them, and the peak RSS after the restart.\n"
         "t is measured from the start of the load, which begins as soon as the node is up: the\n"
         "providers' outage windows count from the start of whichever process plays them (the node,\n"
         "or topup-provider-sim).\n";
}

} // namespace topup::bench
