/**
 * ~300 us of CPU per request, so that the server, not wrk, is what runs out of CPU: with two workers
 * on a 2-core machine each one's share of the connections shows in the throughput
 * (scripts/measure-balance.sh).
 */
export default {
  fetch(): Response {
    const end = performance.now() + 0.3;
    let spins = 0;
    while (performance.now() < end) spins++;
    return new Response(spins > 0 ? "spun" : "no spin");
  },
};
