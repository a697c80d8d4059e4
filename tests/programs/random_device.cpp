// Prints COUNT numbers from std::random_device (which libstdc++ reads with
// RDSEED or RDRAND on CPUs that have them), waits PAUSE_MS milliseconds,
// and prints COUNT more: a recording detached during the pause sees the
// second half run with no trace.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>

int main(int argc, char **argv) {
    int count = argc > 1 ? std::atoi(argv[1]) : 4;
    int pause_ms = argc > 2 ? std::atoi(argv[2]) : 0;
    std::random_device device;
    for (int i = 0; i < count; i++)
        std::printf("value %u\n", device());
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
    std::mt19937 generator(device());
    for (int i = 0; i < count; i++)
        std::printf("later %u\n", static_cast<unsigned>(generator()));
    return 0;
}
