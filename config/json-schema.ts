import { z } from "zod";
import { clusterSchema } from "./schema";

/** JSON Schema of the cluster description (input side: defaults optional), for editors and the docs. */
export function clusterJsonSchema(): object {
  return {
    ...z.toJSONSchema(clusterSchema, { io: "input", unrepresentable: "any" }),
    title: "pve-dualnet cluster description",
  };
}
