// Two Moons as a script simulator: SBI Workbench calls simulate(theta, rng) once per simulation.
// theta: [parameter_1, parameter_2]; rng: this simulation's own random stream (reproducible).
// Returns x as an array of data_dimension numbers.
function simulate(theta, rng) {
    var a = rng.uniform(-Math.PI / 2, Math.PI / 2);  // angle on the right half circle
    var r = rng.normal(0.1, 0.01);                    // radius
    var s = Math.SQRT1_2;
    return [r * Math.cos(a) + 0.25 - Math.abs(s * (theta[0] + theta[1])),
            r * Math.sin(a) + s * (theta[1] - theta[0])];
}
