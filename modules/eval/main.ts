// Entry point of the eval stage bundle (//modules/eval:stage):
// `node stage.bundle.js run --stage=… --config=rubric.json --input=checkpoint=… [--input=teacher=…] --input=packed=… --out=… --log=…`.
import { runStageMain } from "@nexa/modules/stage";

import { evalStage } from "./eval_stage";

void runStageMain(evalStage);
