/** Cleanup collects teardown steps; run() executes them all, last first, and never throws. */
export class Cleanup {
  private readonly steps: Array<() => Promise<void> | void> = [];

  add(step: () => Promise<void> | void): void {
    this.steps.push(step);
  }

  async run(): Promise<void> {
    while (this.steps.length > 0) {
      const step = this.steps.pop() as () => Promise<void> | void;
      try {
        await step();
      } catch {
        // keep tearing down
      }
    }
  }
}
