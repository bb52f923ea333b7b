//! Learning-rate schedules and reduce-on-plateau: each schedule's rates against Keras 3's
//! formulas written out by hand, reduce-on-plateau lowering the rate after its patience, runs
//! stopped and resumed through a checkpoint ending bit for bit as unbroken ones, and the model
//! file's `[optimizer]` table, and the options through the binary. (The GPU steps at the
//! scheduled rates against the CPU reference are in `tests/train_steps.rs`'s golden runs.)

mod common;

use std::cell::Cell;
use std::f64::consts::PI;
use std::path::Path;

use common::cli::{fails_with, gpu_cnn, stderr_of, stdout_of};
use gpu_cnn::checkpoint;
use gpu_cnn::gpu::slab::Layouts;
use gpu_cnn::model::file::parse_file_text;
use gpu_cnn::model::network::{slab_layout, state_layout};
use gpu_cnn::model::presets::preset;
use gpu_cnn::model::shape::infer;
use gpu_cnn::optim::plateau::PlateauConfig;
use gpu_cnn::optim::schedule::{CosineDecay, ExponentialDecay, PiecewiseConstantDecay};
use gpu_cnn::optim::{OptimizerConfig, Schedule, ScheduleSettings, Setting, SgdConfig};
use gpu_cnn::run::Monitor;
use gpu_cnn::train::{FitOutcome, Progress, TrainConfig, TrainState, Trainer};
use tempfile::TempDir;

/// `|a - b| <= 1e-12 · |b|`: the formulas in f64, up to the order of operations.
fn assert_rate(what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 1e-12 * want.abs(),
        "{what}: {got} vs Keras's {want}"
    );
}

#[test]
fn exponential_decay_is_lr_times_rate_to_step_over_decay_steps_floored_with_staircase() {
    let decay = |staircase| {
        Schedule::Exponential(ExponentialDecay {
            decay_steps: 100,
            decay_rate: 0.5,
            staircase,
        })
    };
    for (step, smooth, stairs) in [
        (0, 0.1, 0.1),
        (99, 0.1 * 0.5f64.powf(0.99), 0.1),
        (100, 0.05, 0.05),
        (250, 0.1 * 0.5f64.powf(2.5), 0.025),
    ] {
        let what = format!("step {step}");
        assert_rate(&what, decay(false).learning_rate(0.1, step), smooth);
        assert_rate(&what, decay(true).learning_rate(0.1, step), stairs);
    }
}

#[test]
fn cosine_decay_warms_up_linearly_then_follows_the_cosine_down_to_alpha() {
    let warm = Schedule::Cosine(CosineDecay {
        decay_steps: 1000,
        alpha: 0.1,
        warmup_steps: 100,
        warmup_target: Some(0.01),
    });
    // Warmup: 0.001 + (0.01 - 0.001) · step / 100; then 0.01 · (0.9 · ½(1 + cos(π s/1000)) + 0.1)
    // for s = step - 100, held at s = 1000.
    for (step, want) in [
        (0, 0.001),
        (50, 0.001 + 0.009 * 0.5),
        (100, 0.01),
        (350, 0.01 * (0.9 * 0.5 * (1.0 + (PI * 0.25).cos()) + 0.1)),
        (600, 0.01 * (0.9 * 0.5 + 0.1)),
        (1100, 0.001),
        (5000, 0.001),
    ] {
        assert_rate(
            &format!("warm step {step}"),
            warm.learning_rate(0.001, step),
            want,
        );
    }
    // No warmup target: the cosine from the initial rate (alpha 0 by default: down to 0).
    let plain = Schedule::Cosine(CosineDecay {
        decay_steps: 200,
        alpha: 0.0,
        warmup_steps: 0,
        warmup_target: None,
    });
    assert_rate("plain 0", plain.learning_rate(0.02, 0), 0.02);
    assert_rate(
        "plain 50",
        plain.learning_rate(0.02, 50),
        0.01 * (1.0 + (PI / 4.0).cos()),
    );
    assert!(plain.learning_rate(0.02, 200).abs() < 1e-18);
    assert!(plain.learning_rate(0.02, 900).abs() < 1e-18);
}

#[test]
fn piecewise_constant_decay_takes_each_value_up_to_and_at_its_boundary() {
    let piecewise = Schedule::Piecewise(PiecewiseConstantDecay {
        boundaries: vec![1000, 2000],
        values: vec![0.001, 0.0005, 0.0001],
    });
    for (step, want) in [
        (0, 0.001),
        (999, 0.001),
        (1000, 0.001),
        (1001, 0.0005),
        (2000, 0.0005),
        (2001, 0.0001),
        (1_000_000, 0.0001),
    ] {
        // The initial rate is not used.
        assert_eq!(piecewise.learning_rate(0.5, step), want, "step {step}");
    }
}

#[test]
fn settings_build_keras_defaults_and_refuse_others_schedules_settings_and_bad_values() {
    let given = |name: &str| ScheduleSettings {
        name: Some(name.into()),
        decay_steps: Some(10),
        ..ScheduleSettings::default()
    };
    assert_eq!(
        given("cosine").build(false),
        Ok(Schedule::Cosine(CosineDecay {
            decay_steps: 10,
            alpha: 0.0,
            warmup_steps: 0,
            warmup_target: None,
        }))
    );
    let refusal = |settings: ScheduleSettings, lr: bool| settings.build(lr).unwrap_err();
    let (option, _, hint) = refusal(given("exponential"), false);
    assert_eq!(option, "--decay-rate", "{hint}");
    let staircase = ScheduleSettings {
        staircase: Some(true),
        ..given("cosine")
    };
    let (option, value, hint) = refusal(staircase, false);
    assert_eq!((option, value.as_str()), ("--staircase", "true"));
    assert!(hint.contains("--lr-schedule exponential only"), "{hint}");
    let (option, _, hint) = refusal(given("constant"), false);
    assert_eq!(option, "--decay-steps", "{hint}");
    let piecewise = ScheduleSettings {
        name: Some("piecewise".into()),
        boundaries: Some(vec![5, 3]),
        values: Some(vec![0.1, 0.01, 0.001]),
        ..ScheduleSettings::default()
    };
    let (option, _, hint) = refusal(piecewise.clone(), true);
    assert_eq!(option, "--learning-rate", "{hint}");
    let (option, value, _) = refusal(piecewise.clone(), false);
    assert_eq!((option, value.as_str()), ("--boundaries", "5,3"));
    let short = ScheduleSettings {
        boundaries: Some(vec![3, 5]),
        values: Some(vec![0.1, 0.01]),
        ..piecewise
    };
    let (option, _, hint) = refusal(short, false);
    assert_eq!(option, "--values");
    assert!(hint.contains("3 values"), "{hint}");
}

/// 60 bundled samples in batches of 5 (12 steps an epoch), no validation: dense.
fn config(schedule: Schedule, plateau: Option<PlateauConfig>, epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 5,
        validation_split: 0.0,
        seed: 5,
        schedule,
        plateau,
        ..TrainConfig::default()
    }
}

/// Reduce-on-plateau on the training loss that no epoch can improve (a huge min_delta).
fn never_improving(patience: usize) -> PlateauConfig {
    PlateauConfig {
        patience,
        factor: 0.5,
        cooldown: 0,
        min_lr: 0.0,
        monitor: Monitor::Loss,
        min_delta: 1e9,
    }
}

/// The learning rate of each epoch's last step, as the history records it.
fn rates(trainer: &Trainer) -> Vec<f64> {
    trainer
        .history()
        .iter()
        .map(|stats| stats.learning_rate.expect("a varying rate is recorded"))
        .collect()
}

#[test]
fn reduce_on_plateau_halves_the_rate_after_patience_epochs_and_composes_with_a_schedule() {
    let ctx = common::context();
    let data = common::bundled_subset(60, 10);
    let dense = || preset("dense").unwrap();
    // Epoch 1 sets the best; 2 and 3 do not beat it: reduced after 3, and after 5 again.
    let flat = config(Schedule::Constant, Some(never_improving(2)), 6);
    let mut trainer = Trainer::new(&ctx, dense(), &data, flat).unwrap();
    trainer.fit(|_| {}).unwrap();
    assert_eq!(
        rates(&trainer),
        [0.001, 0.001, 0.001, 0.0005, 0.0005, 0.00025]
    );
    // With a schedule the factor multiplies its rate: patience 1 halves after epochs 2 and 3.
    let exponential = Schedule::Exponential(ExponentialDecay {
        decay_steps: 12,
        decay_rate: 0.5,
        staircase: false,
    });
    let composed = config(exponential, Some(never_improving(1)), 4);
    let mut trainer = Trainer::new(&ctx, dense(), &data, composed).unwrap();
    trainer.fit(|_| {}).unwrap();
    let keras = |last_step: f64, scale: f64| 0.001 * 0.5f64.powf(last_step / 12.0) * scale;
    for (epoch, (got, want)) in rates(&trainer)
        .into_iter()
        .zip([
            keras(11.0, 1.0),
            keras(23.0, 1.0),
            keras(35.0, 0.5),
            keras(47.0, 0.25),
        ])
        .enumerate()
    {
        assert_rate(&format!("epoch {}", epoch + 1), got, want);
    }
}

/// Trains `config` to its end, or, with `stop_in` an epoch, stops part-way through it (after
/// its first chunk), saves a checkpoint to `dir`, loads it into a new trainer and trains on;
/// returns the final trainer's state.
fn run(config: &TrainConfig, stop_in: Option<usize>, dir: &Path) -> TrainState {
    let ctx = common::context();
    let data = common::bundled_subset(60, 10);
    let spec = preset("dense").unwrap();
    let mut trainer = Trainer::new(&ctx, spec.clone(), &data, config.clone()).unwrap();
    let stop = Cell::new(false);
    let outcome = trainer
        .fit_until(
            |progress| {
                if let Progress::Steps { epoch, .. } = progress {
                    stop.set(stop.get() || Some(epoch) == stop_in);
                }
            },
            |_| Ok(std::ops::ControlFlow::Continue(())),
            || stop.get(),
        )
        .unwrap();
    if stop_in.is_none() {
        assert_eq!(outcome, FitOutcome::Finished);
        return trainer.state().unwrap();
    }
    assert!(matches!(outcome, FitOutcome::Stopped { .. }), "{outcome:?}");
    let path = dir.join("stopped.safetensors");
    let layouts = trainer.network().layouts();
    checkpoint::save(&path, &spec, config, &layouts, &trainer.state().unwrap()).unwrap();
    drop(trainer);
    let raw = checkpoint::load(&path).unwrap();
    assert_eq!(&raw.config, config);
    let mut resumed = Trainer::new(&ctx, raw.spec.clone(), &data, raw.config.clone()).unwrap();
    let saved = raw.into_checkpoint(&resumed.network().layouts()).unwrap();
    resumed.restore(saved.state).unwrap();
    resumed.fit(|_| {}).unwrap();
    resumed.state().unwrap()
}

#[test]
fn a_run_stopped_mid_epoch_and_resumed_from_its_checkpoint_ends_bit_for_bit_as_unbroken() {
    let dir = TempDir::new().unwrap();
    let cosine = Schedule::Cosine(CosineDecay {
        decay_steps: 30,
        alpha: 0.05,
        warmup_steps: 10,
        warmup_target: Some(0.004),
    });
    let cases = [
        config(cosine.clone(), None, 4),
        config(Schedule::Constant, Some(never_improving(1)), 4),
        config(cosine, Some(never_improving(1)), 4),
    ];
    for config in cases {
        let unbroken = run(&config, None, dir.path());
        // Stopped in epoch 3, after reduce-on-plateau has reduced the rate once.
        let resumed = run(&config, Some(3), dir.path());
        if config.plateau.is_some() {
            assert!(unbroken.plateau.scale < 1.0, "{:?}", unbroken.plateau);
        }
        let bits = |values: &[f32]| values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        for (name, a, b) in [
            ("parameters", &unbroken.params, &resumed.params),
            ("m", &unbroken.m, &resumed.m),
            ("v", &unbroken.v, &resumed.v),
        ] {
            assert!(bits(a) == bits(b), "{name} differ ({config:?})");
        }
        assert_eq!(unbroken.steps_done, resumed.steps_done);
        assert_eq!(unbroken.plateau, resumed.plateau);
        let lrs = |state: &TrainState| {
            state
                .history
                .iter()
                .map(|stats| stats.learning_rate)
                .collect::<Vec<_>>()
        };
        assert_eq!(lrs(&unbroken), lrs(&resumed));
    }
}

#[test]
fn the_optimizer_table_gives_the_optimizer_and_schedule_settings() {
    let text = "[[layers]]\ntype = \"Flatten\"\n\n[optimizer]\nname = \"sgd\"\n\
                learning_rate = 0.05\nmomentum = 0.9\nnesterov = true\nschedule = \"exponential\"\n\
                decay_steps = 100\ndecay_rate = 0.5\nstaircase = true\n";
    let file = parse_file_text(text).unwrap();
    assert_eq!(file.spec.layers.len(), 1);
    assert_eq!(file.optimizer.name.as_deref(), Some("sgd"));
    assert_eq!(
        file.optimizer.settings,
        [
            (Setting::LearningRate, 0.05),
            (Setting::Momentum, 0.9),
            (Setting::Nesterov, 1.0)
        ]
    );
    assert_eq!(
        file.optimizer.schedule.build(true),
        Ok(Schedule::Exponential(ExponentialDecay {
            decay_steps: 100,
            decay_rate: 0.5,
            staircase: true,
        }))
    );
    // A file without the table gives nothing: the run's defaults stay Keras's.
    let plain = parse_file_text("[[layers]]\ntype = \"Flatten\"\n").unwrap();
    assert_eq!(plain.optimizer, Default::default());
}

#[test]
fn bad_optimizer_tables_are_refused_at_their_line_and_column() {
    let layers = "[[layers]]\ntype = \"Flatten\"\n";
    let cases: [(&str, &[&str]); 7] = [
        (
            "[optimizer]\nname = \"adam\"\nlernig_rate = 0.1\n",
            &["line 3, column 1", "unknown field `lernig_rate`"],
        ),
        (
            "[optimizer]\nlearning_rate = \"fast\"\n",
            &["line 2, column 17", "invalid type"],
        ),
        (
            "[optimizer]\nname = \"adan\"\n",
            &["line 2, column 8", "unknown optimizer `adan`", "adam, sgd"],
        ),
        (
            "[optimizer]\nname = \"adam\"\nmomentum = 0.9\n",
            &[
                "line 3, column 1",
                "`momentum` is not a setting of adam",
                "sgd, rmsprop",
            ],
        ),
        (
            "[optimizer]\nschedule = \"cosine\"\ndecay_steps = 10\ndecay_rate = 0.5\n",
            &[
                "line 4, column 1",
                "`decay_rate` is not a setting of the schedule cosine",
            ],
        ),
        (
            "[optimizer]\nschedule = \"linear\"\n",
            &["line 2, column 12", "unknown schedule `linear`"],
        ),
        (
            "optimizer = 3\n",
            &["line 1, column 13", "`optimizer` must be a table"],
        ),
    ];
    for (table, needles) in cases {
        let text = format!("{table}{layers}");
        let message = parse_file_text(&text).unwrap_err().to_string();
        for needle in needles {
            assert!(message.contains(needle), "{table:?}: {message}");
        }
    }
}

/// `train` on 60 bundled samples in batches of 20, one line per epoch.
const QUICK: [&str; 8] = [
    "train",
    "--train-samples",
    "60",
    "--batch-size",
    "20",
    "--verbose=2",
    "--epochs",
    "1",
];

#[test]
fn every_schedule_and_plateau_option_with_a_bad_value_fails_naming_it_and_writes_nothing() {
    let dir = TempDir::new().unwrap();
    let save = dir.path().join("run.st");
    let save = save.to_str().unwrap();
    let exponential = ["--lr-schedule", "exponential", "--decay-steps", "10"];
    let piecewise = ["--lr-schedule", "piecewise", "--boundaries", "1,2"];
    let cases: Vec<(Vec<&str>, &[&str])> = vec![
        (
            vec!["--lr-schedule", "linear"],
            &["--lr-schedule", "exponential"],
        ),
        (
            vec!["--lr-schedule", "cosine"],
            &["--decay-steps", "needs it"],
        ),
        (
            vec!["--lr-schedule", "cosine", "--decay-steps", "0"],
            &["--decay-steps", "at least 1 step"],
        ),
        (vec!["--decay-steps", "1.5"], &["--decay-steps", "1.5"]),
        (
            [&exponential[..], &["--decay-rate", "-1"]].concat(),
            &["--decay-rate", "-1", "positive factor"],
        ),
        (
            vec!["--staircase"],
            &["--staircase", "--lr-schedule exponential only"],
        ),
        (
            vec![
                "--lr-schedule",
                "cosine",
                "--decay-steps",
                "9",
                "--alpha",
                "2",
            ],
            &["--alpha", "[0, 1]"],
        ),
        (
            [
                &exponential[..],
                &["--decay-rate", "0.5", "--warmup-steps", "5"],
            ]
            .concat(),
            &["--warmup-steps", "--lr-schedule cosine only"],
        ),
        (
            vec![
                "--lr-schedule",
                "cosine",
                "--decay-steps",
                "9",
                "--warmup-target",
                "-1",
            ],
            &["--warmup-target", "positive learning rate"],
        ),
        (
            vec![
                "--lr-schedule",
                "piecewise",
                "--boundaries",
                "2,1",
                "--values",
                "1,2,3",
            ],
            &["--boundaries", "2,1", "increasing"],
        ),
        (vec!["--boundaries", "1,x"], &["--boundaries", "x"]),
        (
            [&piecewise[..], &["--values", "0.1,0.2"]].concat(),
            &["--values", "3 values"],
        ),
        (
            [&piecewise[..], &["--values", "0.1,0,0.2"]].concat(),
            &["--values", "positive learning rates"],
        ),
        (
            [
                &piecewise[..],
                &["--values", "1,2,3", "--learning-rate", "0.1"],
            ]
            .concat(),
            &["--learning-rate", "from --values"],
        ),
        (
            vec!["--reduce-lr-on-plateau", "0"],
            &["--reduce-lr-on-plateau", "at least 1"],
        ),
        (
            vec!["--reduce-lr-on-plateau", "2", "--reduce-lr-factor", "1.5"],
            &["--reduce-lr-factor", "1.5", "(0, 1)"],
        ),
        (
            vec!["--reduce-lr-on-plateau", "2", "--reduce-lr-cooldown", "x"],
            &["--reduce-lr-cooldown", "x"],
        ),
        (
            vec!["--reduce-lr-on-plateau", "2", "--min-lr", "-1"],
            &["--min-lr", "at least 0"],
        ),
        (vec!["--min-lr", "0.001"], &["--reduce-lr-on-plateau"]),
        (
            vec!["--reduce-lr-on-plateau", "2", "--validation-split", "0"],
            &["--monitor", "no validation split"],
        ),
    ];
    for (args, needles) in cases {
        fails_with(
            gpu_cnn().args(QUICK).args(["--save", save]).args(&args),
            needles,
        );
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// The settings of the checkpoint at `path`.
fn saved_config(path: &Path) -> TrainConfig {
    checkpoint::load(path).expect("checkpoint").config
}

#[test]
fn a_model_files_optimizer_table_reaches_the_run_options_override_it_and_resume_keeps_it() {
    let dir = TempDir::new().unwrap();
    let model = dir.path().join("net.toml");
    let dense = std::fs::read_to_string("assets/models/dense.toml").unwrap();
    let table = "\n[optimizer]\nname = \"sgd\"\nlearning_rate = 0.05\nmomentum = 0.9\n\
                 schedule = \"exponential\"\ndecay_steps = 2\ndecay_rate = 0.5\n";
    std::fs::write(&model, format!("{dense}{table}")).unwrap();
    let model = model.to_str().unwrap();
    let (first, second) = (dir.path().join("a.st"), dir.path().join("b.st"));
    let stderr = stderr_of(gpu_cnn().args(QUICK).args([
        "--model",
        model,
        "--save",
        first.to_str().unwrap(),
    ]));
    // 54 training samples: 3 steps, the last at step 2, 0.05 · 0.5^(2/2).
    assert!(stderr.contains(" - learning_rate: 0.0250\n"), "{stderr}");
    let config = saved_config(&first);
    assert_eq!(
        config.optimizer,
        OptimizerConfig::Sgd(SgdConfig {
            learning_rate: 0.05,
            momentum: 0.9,
            nesterov: false,
        })
    );
    let exponential = |decay_rate| {
        Schedule::Exponential(ExponentialDecay {
            decay_steps: 2,
            decay_rate,
            staircase: false,
        })
    };
    assert_eq!(config.schedule, exponential(0.5));
    // Options override the table, setting by setting.
    stdout_of(gpu_cnn().args(QUICK).args([
        "--model",
        model,
        "--save",
        second.to_str().unwrap(),
        "--learning-rate",
        "0.02",
        "--decay-rate",
        "0.25",
    ]));
    let config = saved_config(&second);
    assert_eq!(config.optimizer.learning_rate(), 0.02);
    assert_eq!(config.optimizer.get(Setting::Momentum), Some(0.9));
    assert_eq!(config.schedule, exponential(0.25));
    // Another optimizer leaves the file's sgd settings out, and keeps its schedule.
    stdout_of(gpu_cnn().args(QUICK).args([
        "--model",
        model,
        "--save",
        second.to_str().unwrap(),
        "--optimizer",
        "adam",
    ]));
    let config = saved_config(&second);
    assert_eq!(config.optimizer, OptimizerConfig::default());
    assert_eq!(config.schedule, exponential(0.5));
    // A resumed run keeps its schedule and plateau: a differing option is refused.
    let resume = [
        "train",
        "--resume",
        first.to_str().unwrap(),
        "--epochs",
        "2",
    ];
    fails_with(
        gpu_cnn().args(resume).args(["--decay-rate", "0.9"]),
        &["--decay-rate", "trained with --decay-rate 0.5"],
    );
    fails_with(
        gpu_cnn().args(resume).args(["--lr-schedule", "cosine"]),
        &["--lr-schedule", "trained with --lr-schedule exponential"],
    );
    fails_with(
        gpu_cnn().args(resume).args(["--reduce-lr-on-plateau", "3"]),
        &["--reduce-lr-on-plateau", "no --reduce-lr-on-plateau"],
    );
    // Continued, the schedule goes on from step 3: the second epoch ends at step 5.
    let stderr = stderr_of(
        gpu_cnn()
            .args(resume)
            .args(["--verbose=2", "--decay-rate", "0.5"]),
    );
    let rate = 0.05 * 0.5f64.powf(2.5);
    assert!(
        stderr.contains(&format!(" - learning_rate: {rate:.4}\n")),
        "{stderr}"
    );
}

#[test]
fn train_stopped_after_epoch_2_and_resumed_to_4_saves_what_an_unbroken_run_saves() {
    let dir = TempDir::new().unwrap();
    let (broken, unbroken) = (dir.path().join("broken.st"), dir.path().join("unbroken.st"));
    let settings = [
        "train",
        "--model",
        "dense",
        "--train-samples",
        "60",
        "--batch-size",
        "10",
        "--verbose=0",
        "--lr-schedule",
        "cosine",
        "--decay-steps",
        "12",
        "--warmup-steps",
        "4",
        "--warmup-target",
        "0.005",
        "--alpha",
        "0.1",
        "--reduce-lr-on-plateau",
        "1",
        "--reduce-lr-factor",
        "0.5",
        "--monitor",
        "loss",
        "--min-delta",
        "1e9",
    ];
    let save = |path: &Path, epochs: &str| {
        let path = path.to_str().unwrap().to_string();
        ["--save".to_string(), path, "--epochs".into(), epochs.into()]
    };
    stdout_of(gpu_cnn().args(settings).args(save(&unbroken, "4")));
    stdout_of(gpu_cnn().args(settings).args(save(&broken, "2")));
    // The same options again with --resume: they equal the checkpoint's, so they are taken.
    let resume = ["--resume", broken.to_str().unwrap()];
    stdout_of(
        gpu_cnn()
            .args(settings)
            .args(resume)
            .args(save(&broken, "4")),
    );
    let (a, b) = (
        checkpoint::load(&unbroken).unwrap(),
        checkpoint::load(&broken).unwrap(),
    );
    assert_eq!(a.config, b.config);
    let layers = infer(&a.spec).unwrap();
    let layouts = Layouts {
        params: slab_layout(&layers, 1),
        state: state_layout(&layers, 1),
    };
    let (a, b) = (
        a.into_checkpoint(&layouts).unwrap().state,
        b.into_checkpoint(&layouts).unwrap().state,
    );
    let bits = |values: &[f32]| values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert!(bits(&a.params) == bits(&b.params), "parameters differ");
    assert!(
        bits(&a.m) == bits(&b.m) && bits(&a.v) == bits(&b.v),
        "moments differ"
    );
    // Reduced after epochs 2, 3 and 4 (the cosine ends at alpha, above --min-lr): the resumed
    // run carried epoch 2's reduction on.
    assert_eq!(a.plateau.scale, 0.125);
    assert_eq!(a.plateau, b.plateau);
    let rates = |state: &TrainState| -> Vec<Option<f64>> {
        state.history.iter().map(|s| s.learning_rate).collect()
    };
    assert_eq!(rates(&a), rates(&b));
}
