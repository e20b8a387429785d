import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["out/**", "node_modules/**", "*.vsix", "scripts/**", "vitest.config.mts"] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
      // Tests index into arrays they have just checked; `!` says so.
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
  {
    // Fakes answer with promises the way the real APIs do, without awaiting anything.
    files: ["test/**"],
    rules: { "@typescript-eslint/require-await": "off" },
  },
);
