import { Command } from "@commander-js/extra-typings";
new Command("x");
