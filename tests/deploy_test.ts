/**
 * deploy/: the container image definition and the Kubernetes manifests parse
 * and hold together (YAML parsed by the npm `yaml` package): an Indexed Job
 * whose completions, parallelism and `--shard n` agree, whose pods get
 * JOB_COMPLETION_INDEX and write to the shared volume the merge Job reads,
 * and whose explore arguments the CLI accepts.
 */
import { parseAllDocuments } from "yaml";
import { assert, assertEquals } from "./_assert.ts";
import { parseExploreArgs } from "../cli/explore.ts";

const read = (p: string) => Deno.readTextFileSync(new URL(`../deploy/${p}`, import.meta.url));

// deno-lint-ignore no-explicit-any
type Doc = any;

function docs(file: string): Doc[] {
  const out = parseAllDocuments(read(file));
  for (const d of out) assertEquals(d.errors.map((e) => e.message), [], `${file} parses`);
  return out.map((d) => d.toJS());
}

Deno.test("deploy: the Indexed Job, its volume and the merge Job agree", () => {
  const all = [...docs("explore-job.yaml"), ...docs("merge-job.yaml")];
  for (const d of all) {
    assert(typeof d.apiVersion === "string" && typeof d.kind === "string" && typeof d.metadata?.name === "string");
  }
  const pvc = all.find((d) => d.kind === "PersistentVolumeClaim");
  assert(pvc !== undefined);
  assert(pvc.spec.accessModes.includes("ReadWriteMany"), "every pod writes to the shared volume");
  const [job, merge] = all.filter((d) => d.kind === "Job");
  assertEquals(job.apiVersion, "batch/v1");
  assertEquals(job.spec.completionMode, "Indexed");
  const n = job.spec.completions;
  assert(Number.isInteger(n) && n >= 1);
  assertEquals(job.spec.parallelism, n);
  const pod = job.spec.template.spec;
  assertEquals(pod.restartPolicy, "Never");
  const c = pod.containers[0];
  const args: string[] = c.args;
  assertEquals(args[0], "explore");
  assertEquals(args[args.indexOf("--shard") + 1], String(n), "--shard n equals completions");
  const out = args[args.indexOf("--out") + 1];
  assert(out.includes("$(JOB_COMPLETION_INDEX)"), "each index writes its own folder");
  const env = c.env.find((e: Doc) => e.name === "JOB_COMPLETION_INDEX");
  assert(env?.valueFrom?.fieldRef?.fieldPath.includes("job-completion-index"));
  const mount = c.volumeMounts[0];
  assert(out.startsWith(mount.mountPath + "/"), "results land on the mounted volume");
  const vol = pod.volumes.find((v: Doc) => v.name === mount.name);
  assertEquals(vol.persistentVolumeClaim.claimName, pvc.metadata.name);
  // The merge Job reads the same volume, every shard folder.
  const mc = merge.spec.template.spec.containers[0];
  assertEquals(mc.image, c.image);
  const mvol = merge.spec.template.spec.volumes.find((v: Doc) => v.name === mc.volumeMounts[0].name);
  assertEquals(mvol.persistentVolumeClaim.claimName, pvc.metadata.name);
  const script = mc.args.join(" ");
  assert(script.includes("explore merge") && script.includes(`${mc.volumeMounts[0].mountPath}/shard-*`), script);
  // The CLI accepts the pod's arguments, with the index the Job controller sets.
  Deno.env.set("JOB_COMPLETION_INDEX", String(n - 1));
  try {
    const o = parseExploreArgs(args.slice(1).map((a) => a.replace("$(JOB_COMPLETION_INDEX)", String(n - 1))));
    assertEquals(o.shard, { index: n - 1, count: n });
  } finally {
    Deno.env.delete("JOB_COMPLETION_INDEX");
  }
});

Deno.test("deploy: the image is the official Deno image with the project and its cache", () => {
  const lines = read("Dockerfile").split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
  const from = lines.find((l) => l.startsWith("FROM "));
  assert(from !== undefined && /^FROM denoland\/deno:/.test(from), from);
  assert(lines.some((l) => /^COPY \. \.$/.test(l)), "the project is copied in");
  assert(lines.some((l) => /^RUN deno cache .*cli\/main\.ts/.test(l)), "dependencies cached at build time");
  assert(lines.some((l) => /^ENTRYPOINT \["deno", "task"\]$/.test(l)));
  const arg = lines.find((l) => l.startsWith("ARG DENO_VERSION="));
  const ci = Deno.readTextFileSync(new URL("../.ci/run", import.meta.url));
  assert(arg !== undefined && ci.includes(`deno@${arg.split("=")[1]}`), "the image uses the Deno release CI pins");
});
