// `npm start` will start a local 3-node cluster once the node process exists
// (issue: "A real cluster"). Until then it says so instead of pretending.
console.log('raftlock: the cluster node is coming; today the Raft core, lock state machine and simulator are here.');
console.log('Try: npm test   or   npm run sim -- --seeds 1000');
