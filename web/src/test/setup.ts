// Vitest: unmount what a test rendered before the next one, and give answers time to arrive
// on a busy machine (CI shares two cores with cargo): waiting longer only slows a failure.
import { cleanup, configure } from "@testing-library/react";
import { afterEach } from "vitest";

configure({ asyncUtilTimeout: 5000 });
afterEach(() => cleanup());
