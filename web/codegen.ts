// graphql-codegen: TypeScript types and typed documents for the operations in
// src/graphql/*.graphql, generated from the repository's public schema (../schema.graphql).
//
// The contract's `Subscription` type (spec/api.graphql, with `ticketEvents(after:)`) reaches
// schema.graphql when the gateway serves subscriptions. Until then the same definition from
// src/graphql/subscription.pending.graphqls is added; once schema.graphql has its own, that
// file is left out (and can be deleted).
import type { CodegenConfig } from "@graphql-codegen/cli";
import { readFileSync } from "node:fs";

const schema = "../schema.graphql";
const hasSubscription = /^type Subscription\b/m.test(readFileSync(schema, "utf8"));

const config: CodegenConfig = {
  schema: hasSubscription ? [schema] : [schema, "src/graphql/subscription.pending.graphqls"],
  documents: ["src/graphql/*.graphql"],
  overwrite: true,
  silent: true,
  generates: {
    "src/generated/graphql.ts": {
      plugins: ["typescript", "typescript-operations", "typed-document-node"],
      config: {
        enumsAsTypes: true,
        avoidOptionals: { field: true },
        scalars: { DateTime: "string" },
        useTypeImports: true,
        nonOptionalTypename: false,
        skipTypename: true,
      },
    },
  },
};

export default config;
