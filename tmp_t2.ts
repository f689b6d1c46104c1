const t0 = performance.now();
const m = await import("./src/commands/status.ts");
const t1 = performance.now();
const r = await m.statusReport(undefined, {});
const t2 = performance.now();
const s = JSON.stringify(r.data);
const t3 = performance.now();
console.error(`origin→main ${t0.toFixed(1)} import ${(t1 - t0).toFixed(1)} report ${(t2 - t1).toFixed(1)} json ${(t3 - t2).toFixed(1)} len ${s.length}`);
