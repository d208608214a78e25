# The micro programs' output, compared byte for byte with the files in expected/ by every build
# that has the programs: bare metal under qemu-system-arm (micro-m33, micro-m4), and the host
# programs natively (release, asan) or under qemu-user (pi-aarch64, pi-armhf). The files were
# written by the x86 release build's host programs (tests/micro/update_expected.sh); a change to
# the model or to the int8 arithmetic rewrites them there, and every other build must agree.
edgevae_micro_compare(micro.digits.label7 digits digits-label7-seed1.pgm
  --label 7 --count 4 --seed 1 --pgm)
edgevae_micro_compare(micro.digits.prior digits digits-prior-seed2.pgm
  --prior --count 4 --seed 2 --pgm)
edgevae_micro_compare(micro.digits.interp digits digits-interp-4-9.pgm
  --interp 4 9 --steps 8 --pgm)
edgevae_micro_compare(micro.digits.ascii digits digits-label3-seed5.txt
  --label 3 --count 2 --seed 5)
# The anomaly scorer over tests/micro/frames.bin (tests/micro/make_frames.py: 12 test digits, then
# a blank, a white, a checkerboard and an inverted frame): exact int8 scores and verdicts.
edgevae_micro_compare(micro.anomaly.bce anomaly anomaly-bce.txt STDIN frames.bin
  --method bce --threshold 150)
edgevae_micro_compare(micro.anomaly.mse anomaly anomaly-mse.txt STDIN frames.bin --method mse)
edgevae_micro_compare(micro.anomaly.mse3x3 anomaly anomaly-mse3x3.txt STDIN frames.bin
  --method mse3x3)
