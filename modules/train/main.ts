// Entry point of the train stage bundle (pipelines/stages.bzl `train_stage`).
import { runStageMain } from "@nexa/modules/stage";

import { trainStage } from "./train_stage";

void runStageMain(trainStage);
