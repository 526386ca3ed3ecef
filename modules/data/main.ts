// Entry point of the data stage bundle (//modules/data:stage): `node stage.bundle.js run|merge --stage=… …`.
import { runStageMain } from "@nexa/modules/stage";

import { dataStage } from "./data_stage";

void runStageMain(dataStage);
