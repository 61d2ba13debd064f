// graphql-codegen: TypeScript types and typed documents for the operations in
// src/graphql/*.graphql, generated from the repository's public schema (../schema.graphql).
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../schema.graphql",
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
