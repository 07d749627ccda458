/** The viewer link `replay` prints on divergence names the right folder, run id and event. */
import { assertEquals } from "./_assert.ts";
import { viewerLink } from "../viewer/link.ts";
import { parsePlace } from "../viewer/ui/url.ts";

Deno.test("viewer link: runs/ subfolders become ids; other folders are served themselves", () => {
  const a = viewerLink("runs/explore/lock-abba/lock-abba-3.lstrace", 19);
  assertEquals(a.split(",")[0], "deno task viewer --dir runs");
  const place = parsePlace(new URL(a.split(" then ")[1]).hash);
  assertEquals(place.page === "run" && [place.id, place.sel], ["explore/lock-abba/lock-abba-3", 19]);
  const b = viewerLink("/tmp/x/golden one.lstrace", 7, 9000);
  assertEquals(b.split(",")[0], "deno task viewer --dir /tmp/x");
  const p2 = parsePlace(new URL(b.split(" then ")[1]).hash);
  assertEquals(p2.page === "run" && [p2.id, p2.sel], ["golden one", 7]);
});
